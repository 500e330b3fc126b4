"""The fast graph views stand in for rdflib's own: same answers, same bytes, same labels."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.compare import to_canonical_graph
from rdflib.namespace import OWL, RDF, RDFS

from kg.release import merge_ntriples
from kg.sources import load, parse_turtle
from kg.triples import canonical_labels, graph_over, nt_document, nt_lines, relabel

REPO = Path(__file__).resolve().parent.parent
FIXTURE = Path(__file__).resolve().parent / "fixtures" / "mini" / "ontology"
EX = "https://example.org/"
XSD_INTEGER = URIRef("http://www.w3.org/2001/XMLSchema#integer")


@pytest.fixture(scope="module")
def triples() -> set:
    """The asserted triples of the tiny fixture, with awkward literals added."""
    found = set(load(FIXTURE).triples)
    node = BNode("b1")
    found |= {
        (URIRef(EX + "a"), RDFS.label,
         Literal('quote " backslash \\ newline \n tab \t', lang="en")),
        (URIRef(EX + "a"), RDFS.comment, Literal("unicode é ☃ \u2028")),
        (URIRef(EX + "a"), URIRef(EX + "n"), Literal("01", datatype=XSD_INTEGER)),
        (URIRef(EX + "a"), URIRef(EX + "b"), node),
        (node, RDF.type, OWL.Restriction),
    }
    return found


def memory_graph(triples: set) -> Graph:
    """The same triples in rdflib's default in-memory store."""
    graph = Graph()
    for triple in triples:
        graph.add(triple)
    return graph


def test_every_triple_pattern_gets_the_same_answers(triples: set) -> None:
    fast, reference = graph_over(triples), memory_graph(triples)
    assert len(fast) == len(reference)
    terms = sorted({t for triple in triples for t in triple}, key=lambda t: t.n3())[:40]
    predicates = sorted({p for _, p, _ in triples}, key=lambda t: t.n3())
    for s, p, o in itertools.islice(itertools.product([None, *terms], [None, *predicates],
                                                       [None, *terms]), 20000):
        assert set(fast.triples((s, p, o))) == set(reference.triples((s, p, o))), (s, p, o)
    for s, p, o in triples:
        assert (s, p, o) in fast
        assert set(fast.objects(s, p)) == set(reference.objects(s, p))
        assert set(fast.subjects(p, o)) == set(reference.subjects(p, o))
        assert fast.value(s, p) in set(reference.objects(s, p))
    assert fast.value(URIRef(EX + "nothing"), RDFS.label, default=Literal("d")) == Literal("d")


def test_added_and_removed_triples_are_seen_by_every_index(triples: set) -> None:
    graph = graph_over(triples)
    new = (URIRef(EX + "x"), RDF.type, URIRef(EX + "C"))
    assert set(graph.subjects(RDF.type, URIRef(EX + "C"))) == set()  # builds the index
    graph.add(new)
    assert set(graph.subjects(RDF.type, URIRef(EX + "C"))) == {URIRef(EX + "x")}
    assert set(graph.triples((None, None, URIRef(EX + "C")))) == {new}
    graph.remove(new)
    assert new not in graph
    assert set(graph.subjects(RDF.type, URIRef(EX + "C"))) == set()
    assert len(graph) == len(triples)


def test_prefixes_bind_as_in_rdflib(triples: set) -> None:
    graph = graph_over(triples, {"ex": EX, "rdfs": str(RDFS)})
    assert dict(graph.namespaces())["ex"] == URIRef(EX)
    assert URIRef(EX + "a").n3(graph.namespace_manager) == "ex:a"


def test_ntriples_lines_are_rdflib_serialiser_lines(triples: set) -> None:
    written = memory_graph(triples).serialize(format="nt", encoding="utf-8")
    expected = b"".join(line + b"\n" for line in sorted(set(written.splitlines())) if line)
    assert nt_document(nt_lines(triples)) == expected


def test_merged_documents_are_the_sorted_union() -> None:
    assert merge_ntriples(b"a .\nc .\n", b"b .\nc .\n") == b"a .\nb .\nc .\n"
    assert merge_ntriples(b"", b"x .\n") == b"x .\n"


@pytest.mark.parametrize("source", [REPO / "ontology" / "cytokg.ttl", FIXTURE / "cytokg.ttl"])
def test_canonical_labels_are_rdflib_canonical_labels(source: Path) -> None:
    parsed = parse_turtle(source, canonical=False)
    labels = canonical_labels(parsed)
    assert labels, "the TBox has blank nodes to label"
    assert {relabel(t, labels) for t in parsed} == set(to_canonical_graph(parsed))
