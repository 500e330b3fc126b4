"""The partitioned closure (`kg.partition`) equals the monolithic one, or refuses to run."""

from __future__ import annotations

from pathlib import Path

import pytest
from rdflib import Graph, URIRef
from rdflib.namespace import OWL

from benchmarks.partition import split_project
from benchmarks.synthetic import generate
from kg.partition import PartitionError, closure_partitioned, closure_streamed, partition
from kg.reason import close, logical_part
from kg.sources import load

REPO = Path(__file__).resolve().parent.parent
EX = "http://example.org/"
PREFIXES = f"""@prefix : <{EX}> . @prefix owl: <http://www.w3.org/2002/07/owl#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
"""


def iri(name: str) -> URIRef:
    """An IRI of the example namespace."""
    return URIRef(EX + name)


def triples(turtle: str) -> set:
    """The triples of a small Turtle document."""
    return set(Graph().parse(data=PREFIXES + turtle, format="turtle"))


def test_real_data_partitioned_equals_monolithic() -> None:
    asserted = load(REPO / "ontology").triples
    cut = partition(logical_part(asserted), bin_triples=6_000)
    assert len(cut.bins) >= 3  # the data really is reasoned in several pieces
    partitioned = closure_partitioned(asserted, "reasonable", workers=2, bin_triples=6_000)
    assert partitioned.triples == close(asserted, "reasonable").triples


def test_synthetic_three_copies_partitioned_equals_monolithic(tmp_path: Path) -> None:
    project = generate(3, tmp_path / "x3")
    asserted = load(project / "ontology").triples
    partitioned = closure_partitioned(asserted, "reasonable", workers=2, bin_triples=10_000)
    assert partitioned.bins >= 2
    monolithic = close(asserted, "reasonable").triples
    assert partitioned.triples == monolithic
    # Copies are disjoint apart from the shared individuals: the union holds every copy's part.
    assert any(str(s).endswith("_2") for s, _, _ in partitioned.triples)


def test_streamed_chunks_of_three_copies_equal_the_monolithic_closure(tmp_path: Path) -> None:
    # Copy 0 alone, then copies 1 and 2 one a chunk: each later chunk points at the individuals
    # the TBox names, whose statements (and what they walk into) are copy 0's.
    project = generate(3, tmp_path / "x3")
    roots = split_project(project, 3, 1, tmp_path / "chunks")
    assert len(roots) == 3
    streamed = closure_streamed(roots, tmp_path / "out", "reasonable", workers=2)
    union: set = set()
    for path in streamed.files:
        union |= set(Graph().parse(path, format="nt"))
    monolithic = close(load(project / "ontology").triples, "reasonable").triples
    assert streamed.core_triples > 0
    assert streamed.inferred == len(union) == len(monolithic)
    assert union == monolithic


KEYED = """
:ssn a owl:DatatypeProperty , owl:InverseFunctionalProperty .
:knows a owl:ObjectProperty .
:Person a owl:Class ; owl:hasKey ( :name ) .
:name a owl:DatatypeProperty .
:a :ssn "123" ; :knows :c .
:b :ssn "123" ; :knows :d .
:e a :Person ; :name "Ann" ; :knows :f .
:g a :Person ; :name "Ann" ; :knows :h .
:j :knows :k .
"""


def test_inverse_functional_and_key_values_shared_by_two_components_are_merged() -> None:
    asserted = triples(KEYED)
    cut = partition(logical_part(asserted), "owlrl", bin_triples=1)
    assert cut.merged == 2  # {a, c} with {b, d} (prp-ifp), {e, f} with {g, h} (prp-key)
    assert len(cut.bins) == 3
    monolithic = close(asserted, "owlrl").triples
    partitioned = closure_partitioned(asserted, "owlrl", workers=2, bin_triples=1)
    assert (iri("a"), OWL.sameAs, iri("b")) in monolithic
    assert (iri("e"), OWL.sameAs, iri("g")) in monolithic
    assert partitioned.triples == monolithic


HIDDEN = """
:ssn a owl:DatatypeProperty , owl:InverseFunctionalProperty .
:knows a owl:ObjectProperty .
:Badge owl:equivalentClass [ a owl:Restriction ; owl:onProperty :ssn ; owl:hasValue "123" ] .
:a a :Badge ; :knows :c .
:b :ssn "123" ; :knows :d .
"""


def test_a_join_only_the_closure_shows_is_refused() -> None:
    # a's ssn comes from the hasValue restriction (cls-hv1), so nothing asserted merges a and b;
    # the bins' checks see the same inverse-functional value in two bins and refuse.
    asserted = triples(HIDDEN)
    assert (iri("a"), OWL.sameAs, iri("b")) in close(asserted, "owlrl").triples
    with pytest.raises(PartitionError, match="prp-ifp"):
        closure_partitioned(asserted, "owlrl", workers=2, bin_triples=1)


WALK = """
:partOf a owl:ObjectProperty , owl:TransitiveProperty .
:Organ owl:equivalentClass [ a owl:Restriction ; owl:onProperty :partOf ; owl:hasValue :body ] .
:cell1 :partOf :body . :cell2 :partOf :body .
:body :partOf :world .
"""


def test_a_transitive_walk_through_a_shared_individual_shares_one_side() -> None:
    asserted = triples(WALK)
    cut = partition(logical_part(asserted), "reasonable", bin_triples=1)
    assert cut.core == {(iri("body"), iri("partOf"), iri("world"))}
    partitioned = closure_partitioned(asserted, "reasonable", workers=2, bin_triples=1)
    assert (iri("cell2"), iri("partOf"), iri("world")) in partitioned.triples
    assert partitioned.triples == close(asserted, "reasonable").triples


def test_literals_do_not_connect_components() -> None:
    asserted = triples(':a :name "x" . :b :name "x" . :name a owl:DatatypeProperty .')
    cut = partition(logical_part(asserted), "reasonable", bin_triples=1)
    assert len(cut.bins) == 2 and cut.components == 2
