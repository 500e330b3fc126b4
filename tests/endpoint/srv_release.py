"""A tiny hand-written cytokg release used by the server tests (IRIs as constants)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

NS = "https://w3id.org/cytokg/"
ASSERTED = NS + "graph/asserted"
INFERRED = NS + "graph/inferred"
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
RDFS_LABEL = "http://www.w3.org/2000/01/rdf-schema#label"
RDFS_SUBCLASS = "http://www.w3.org/2000/01/rdf-schema#subClassOf"
XSD_INTEGER = "http://www.w3.org/2001/XMLSchema#integer"

CYTOKINE = NS + "Cytokine"
PROTEIN = NS + "Protein"
RECEPTOR = NS + "Receptor"
BINDS = NS + "bindsReceptor"
MASS = NS + "massKDa"
NOTE = NS + "note"
IL6 = NS + "IL6"
IL1B = NS + "IL1B"
TNF = NS + "TNF"
IL6R = NS + "IL6R"
IL1R1 = NS + "IL1R1"
TNFR1 = NS + "TNFR1"
#: A note with a comma, a quote and a newline, to check CSV/TSV escaping.
TRICKY = 'pleiotropic, "pro-inflammatory"\nand anti-inflammatory'


def _iri(x: str) -> str:
    return f"<{x}>"


def _lit(value: str, lang: str | None = None, datatype: str | None = None) -> str:
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    if lang:
        return f'"{escaped}"@{lang}'
    if datatype:
        return f'"{escaped}"^^<{datatype}>'
    return f'"{escaped}"'


ASSERTED_TRIPLES: list[tuple[str, str, str]] = [
    (_iri(CYTOKINE), _iri(RDFS_SUBCLASS), _iri(PROTEIN)),
    (_iri(RECEPTOR), _iri(RDFS_SUBCLASS), _iri(PROTEIN)),
    (_iri(IL6), _iri(RDF_TYPE), _iri(CYTOKINE)),
    (_iri(IL1B), _iri(RDF_TYPE), _iri(CYTOKINE)),
    (_iri(TNF), _iri(RDF_TYPE), _iri(CYTOKINE)),
    (_iri(IL6R), _iri(RDF_TYPE), _iri(RECEPTOR)),
    (_iri(IL1R1), _iri(RDF_TYPE), _iri(RECEPTOR)),
    (_iri(TNFR1), _iri(RDF_TYPE), _iri(RECEPTOR)),
    (_iri(IL6), _iri(RDFS_LABEL), _lit("Interleukin-6", lang="en")),
    (_iri(IL1B), _iri(RDFS_LABEL), _lit("Interleukin-1 beta", lang="en")),
    (_iri(TNF), _iri(RDFS_LABEL), _lit("Tumor necrosis factor", lang="en")),
    (_iri(IL6R), _iri(RDFS_LABEL), _lit("Interleukin-6 receptor", lang="en")),
    (_iri(IL1R1), _iri(RDFS_LABEL), _lit("Interleukin-1 receptor type 1", lang="en")),
    (_iri(TNFR1), _iri(RDFS_LABEL), _lit("TNF receptor 1", lang="en")),
    (_iri(IL6), _iri(BINDS), _iri(IL6R)),
    (_iri(IL1B), _iri(BINDS), _iri(IL1R1)),
    (_iri(TNF), _iri(BINDS), _iri(TNFR1)),
    (_iri(IL6), _iri(MASS), _lit("21", datatype=XSD_INTEGER)),
    (_iri(IL1B), _iri(MASS), _lit("17", datatype=XSD_INTEGER)),
    (_iri(TNF), _iri(MASS), _lit("17", datatype=XSD_INTEGER)),
    (_iri(IL6), _iri(NOTE), _lit(TRICKY)),
    ("_:src1", _iri(RDFS_LABEL), _lit("curation batch 1")),
    (_iri(IL6), _iri(NS + "curatedIn"), "_:src1"),
]
INFERRED_TRIPLES: list[tuple[str, str, str]] = [
    (_iri(IL6), _iri(RDF_TYPE), _iri(PROTEIN)),
    (_iri(IL1B), _iri(RDF_TYPE), _iri(PROTEIN)),
    (_iri(TNF), _iri(RDF_TYPE), _iri(PROTEIN)),
    (_iri(IL6R), _iri(RDF_TYPE), _iri(PROTEIN)),
    (_iri(IL1R1), _iri(RDF_TYPE), _iri(PROTEIN)),
    (_iri(TNFR1), _iri(RDF_TYPE), _iri(PROTEIN)),
    (_iri(IL6R), _iri(NS + "isBoundBy"), _iri(IL6)),
    (_iri(IL1R1), _iri(NS + "isBoundBy"), _iri(IL1B)),
    (_iri(TNFR1), _iri(NS + "isBoundBy"), _iri(TNF)),
]
N_ASSERTED = len(ASSERTED_TRIPLES)
N_INFERRED = len(INFERRED_TRIPLES)

VOID_TTL = f"""@prefix void: <http://rdfs.org/ns/void#> .
@prefix dcterms: <http://purl.org/dc/terms/> .
<{NS}> a void:Dataset ;
    dcterms:title "Cytokine Knowledge Graph (test fixture)" ;
    void:sparqlEndpoint <http://localhost/sparql> ;
    void:triples {N_ASSERTED + N_INFERRED} .
"""


def write_release(directory: Path) -> Path:
    """Write the fixture release files into ``directory`` and return it."""
    directory.mkdir(parents=True, exist_ok=True)
    files = {
        "cytokg-asserted.nt": ASSERTED_TRIPLES,
        "cytokg-inferred.nt": INFERRED_TRIPLES,
    }
    hashes: dict[str, str] = {}
    for name, triples in files.items():
        text = "".join(f"{s} {p} {o} .\n" for s, p, o in triples)
        (directory / name).write_text(text, encoding="utf-8")
        hashes[name] = hashlib.sha256(text.encode()).hexdigest()
    (directory / "void.ttl").write_text(VOID_TTL, encoding="utf-8")
    hashes["void.ttl"] = hashlib.sha256(VOID_TTL.encode()).hexdigest()
    manifest = {
        "version": "0.1.0",
        "sources_hash": "f" * 64,
        "counts": {"asserted": N_ASSERTED, "inferred": N_INFERRED},
        "files": hashes,
    }
    (directory / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return directory
