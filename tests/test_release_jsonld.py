"""The JSON-LD document compacted in parts is byte for byte the one compacted whole."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import OWL, RDF, RDFS

from kg.reason import close
from kg.release import blank_node_units, finish_jsonld, jsonld, start_jsonld
from kg.sources import load
from kg.triples import graph_over

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "mini" / "ontology"
CONTEXT = json.loads((FIXTURE / "context.jsonld").read_text())
EX = "https://w3id.org/cytokg/"


def whole(triples: set) -> bytes:
    """The document rdflib compacts from the whole graph at once."""
    return jsonld(graph_over(triples, {}), CONTEXT)


def in_parts(triples: set, parts: int) -> bytes:
    """The document assembled from children that each compact a part."""
    return finish_jsonld(start_jsonld(triples, {}, CONTEXT, parts), triples, {}, CONTEXT)


def shared_lists() -> set:
    """Two subjects pointing at one blank node that heads an RDF list, and a nested node."""
    head, rest, inner = BNode("l1"), BNode("l2"), BNode("n1")
    return {
        (URIRef(EX + "A"), OWL.intersectionOf, head), (URIRef(EX + "B"), OWL.unionOf, head),
        (head, RDF.first, URIRef(EX + "C")), (head, RDF.rest, rest),
        (rest, RDF.first, inner), (rest, RDF.rest, RDF.nil),
        (inner, RDF.type, OWL.Restriction), (inner, OWL.onProperty, URIRef(EX + "p")),
        (URIRef(EX + "D"), RDFS.label, Literal("d", lang="en")),
        (BNode("ax"), RDF.type, OWL.Axiom), (BNode("ax"), OWL.annotatedSource, URIRef(EX + "D")),
    }


def mini_full() -> set:
    """The tiny fixture's asserted and inferred triples."""
    sources = load(FIXTURE)
    return set(sources.triples) | close(sources.triples).triples


@pytest.mark.parametrize("parts", [1, 2, 3])
@pytest.mark.parametrize("graph", [mini_full, shared_lists])
def test_parts_give_the_whole_document(graph, parts: int) -> None:
    triples = graph()
    assert in_parts(triples, parts) == whole(triples)


@pytest.mark.parametrize("triples", [
    set(),
    {(URIRef(EX + "A"), RDFS.label, Literal("a"))},
    {(URIRef(EX + "A"), RDFS.label, Literal("a")), (URIRef(EX + "B"), RDFS.label, Literal("b"))},
])
def test_tiny_graphs_keep_rdflibs_shapes(triples: set) -> None:
    document = in_parts(triples, 2)
    assert document == whole(triples)
    assert json.loads(document)["@context"] == CONTEXT["@context"]


def test_document_parses_to_the_graph() -> None:
    triples = mini_full()
    parsed = Graph().parse(data=in_parts(triples, 2), format="json-ld")
    assert len(parsed) == len(triples)


def test_subjects_sharing_blank_nodes_are_one_unit() -> None:
    units = blank_node_units(shared_lists())
    members = [URIRef(EX + "A"), URIRef(EX + "B"), BNode("l1"), BNode("l2"), BNode("n1")]
    assert len({units[m] for m in members}) == 1
    assert URIRef(EX + "D") not in units and BNode("ax") not in units
