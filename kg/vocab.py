"""Namespaces, graph names and the CURIE converter, so that every module spells IRIs alike."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from rdflib import Namespace, URIRef

if TYPE_CHECKING:  # curies (with pydantic) takes ~0.3 s to import; the server never needs it
    import curies

BASE = "https://w3id.org/cytokg/"
CYTOKG = Namespace(BASE)
ONTOLOGY_IRI = URIRef(BASE + "cytokg.owl")
ASSERTED_GRAPH = URIRef(BASE + "graph/asserted")
INFERRED_GRAPH = URIRef(BASE + "graph/inferred")
DCTERMS = Namespace("http://purl.org/dc/terms/")
SKOS = Namespace("http://www.w3.org/2004/02/skos/core#")
VOID = Namespace("http://rdfs.org/ns/void#")


def load_context(path: Path) -> dict[str, str]:
    """Read the prefix map of the published JSON-LD context, the single source of our prefixes."""
    data = json.loads(path.read_text(encoding="utf-8"))
    return {k: v for k, v in data["@context"].items() if isinstance(v, str)}


def converter(prefixes: dict[str, str]) -> curies.Converter:
    """Build a CURIE converter (the `curies` library) over our prefix map."""
    import curies

    return curies.Converter.from_prefix_map(prefixes)
