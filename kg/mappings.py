"""The SSSOM mapping table of a release, generated from the graph's SKOS mapping triples.

Follows the SSSOM specification (TSV serialisation: a YAML metadata block in `#` lines, then one
row per mapping with subject_id, predicate_id, object_id and mapping_justification).
"""

from __future__ import annotations

import json

import curies
from rdflib import Graph, URIRef
from rdflib.namespace import RDFS

from kg.provenance import LICENCE
from kg.vocab import BASE, SKOS

MAPPING_PREDICATES = (SKOS.exactMatch, SKOS.closeMatch, SKOS.broadMatch, SKOS.narrowMatch,
                      SKOS.relatedMatch)
COLUMNS = ("subject_id", "subject_label", "predicate_id", "object_id", "mapping_justification")
EXTRA_PREFIXES = {"semapv": "https://w3id.org/semapv/vocab/"}
JUSTIFICATION = "semapv:ManualMappingCuration"
LICENSE = LICENCE  # the one licence of everything we publish (kg.provenance, LICENSE)
TITLE = "Mappings of the Cytokine Knowledge Graph to other resources"


def mapping_rows(graph: Graph, conv: curies.Converter) -> list[tuple[str, ...]]:
    """Collect one row per mapping of one of our terms to an external term we have a prefix for."""
    rows = set()
    for predicate in MAPPING_PREDICATES:
        for subject, obj in graph.subject_objects(predicate):
            if not (isinstance(subject, URIRef) and isinstance(obj, URIRef)
                    and str(subject).startswith(BASE) and not str(obj).startswith(BASE)):
                continue
            object_id = conv.compress(str(obj))
            if object_id is None:
                continue
            label = graph.value(subject, RDFS.label)
            rows.add((conv.compress(str(subject)), "" if label is None else str(label),
                      conv.compress(str(predicate)), object_id, JUSTIFICATION))
    return sorted(rows)


def sssom_table(graph: Graph, prefixes: dict[str, str], version: str) -> bytes:
    """Render the SSSOM TSV (metadata block and rows) with the prefixes the rows use."""
    conv = curies.Converter.from_prefix_map({**prefixes, **EXTRA_PREFIXES})
    rows = mapping_rows(graph, conv)
    used = {"cytokg", "skos", "semapv"} | {row[3].split(":", 1)[0] for row in rows}
    # JSON strings are YAML scalars: quoting them keeps IRIs ending in ':' valid YAML.
    lines = [
        "#curie_map:",
        *(f"#  {p}: {json.dumps(conv.prefix_map[p])}" for p in sorted(used)),
        f"#mapping_set_id: {json.dumps(BASE + 'cytokg.sssom.tsv')}",
        f"#mapping_set_version: {json.dumps(version)}",
        f"#mapping_set_title: {json.dumps(TITLE)}",
        f"#license: {json.dumps(LICENSE)}",
        "\t".join(COLUMNS),
        *("\t".join(clean(cell) for cell in row) for row in rows),
    ]
    return ("\n".join(lines) + "\n").encode("utf-8")


def clean(cell: str) -> str:
    """Keep a cell on one TSV line."""
    return " ".join(cell.replace("\t", " ").split())
