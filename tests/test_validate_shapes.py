"""The shapes rewritten for speed report exactly what pySHACL reports for the shapes as written."""

from __future__ import annotations

import random
from pathlib import Path

import pyshacl
import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import OWL, RDF, RDFS, SH

from kg.sources import bind_prefixes, load
from kg.validate import shacl_problems, targeted
from kg.vocab import CYTOKG, DCTERMS, SKOS, converter

REPO = Path(__file__).resolve().parent.parent


def problems_as_written(triples: set, shapes: Graph, prefixes: dict[str, str]) -> list[str]:
    """Describe pySHACL's results for the shapes as written, as the build used to."""
    graph = Graph()
    for triple in triples:
        graph.add(triple)
    bind_prefixes(graph, prefixes)
    _, report, _ = pyshacl.validate(graph, shacl_graph=shapes, inference="none", advanced=True,
                                    allow_warnings=True)
    conv = converter(prefixes)
    compress = lambda iri: conv.compress(iri, passthrough=True)  # noqa: E731
    found = []
    for result in report.subjects(SH.focusNode, None):
        text = f"SHACL: focus {compress(str(report.value(result, SH.focusNode)))}"
        for label, key in (("path", SH.resultPath), ("value", SH.value)):
            if report.value(result, key) is not None:
                text += f", {label} {compress(str(report.value(result, key)))}"
        found.append(f"{text}: {report.value(result, SH.resultMessage)}")
    return sorted(found)


@pytest.fixture(scope="module")
def ours():
    """Our own sources, loaded once."""
    return load(REPO / "ontology")


@pytest.mark.parametrize("seed", [1, 2])
def test_damaged_graph_gets_the_same_problems(ours, seed: int) -> None:
    rng = random.Random(seed)
    asserted = sorted(ours.triples, key=lambda t: " ".join(x.n3() for x in t))
    damaged = set(asserted) - set(rng.sample(asserted, 300))
    individuals = sorted(s for s, p, o in asserted if p == RDF.type and o == OWL.NamedIndividual)
    for entity in rng.sample(individuals, 5):
        damaged |= {(entity, RDFS.label, Literal("a second label", lang="en")),
                    (entity, CYTOKG.hgncId, Literal("not an id")),
                    (entity, CYTOKG.producedBy, rng.choice(individuals)),
                    (entity, SKOS.exactMatch, Literal("not an IRI")),
                    (entity, DCTERMS.source, rng.choice(individuals))}
    conv = converter(ours.prefixes)
    ours_graph = Graph()
    for triple in damaged:
        ours_graph.add(triple)
    bind_prefixes(ours_graph, ours.prefixes)
    found = shacl_problems(ours_graph, ours.shapes,
                           lambda iri: conv.compress(iri, passthrough=True))
    assert len(found) > 100
    assert found == problems_as_written(damaged, ours.shapes, ours.prefixes)


def test_property_shapes_take_the_node_shapes_targets(ours) -> None:
    rewritten = targeted(ours.shapes)
    shape = CYTOKG.CytokineShape
    assert (shape, SH.property, None) not in rewritten
    moved = set(rewritten.subjects(SH.targetClass, CYTOKG.Cytokine)) - {shape}
    assert {rewritten.value(p, SH.path) for p in moved} >= {CYTOKG.memberOfFamily,
                                                            CYTOKG.bindsReceptor}


SHAPES = """
@prefix sh: <http://www.w3.org/ns/shacl#> .
@prefix ex: <https://example.org/> .
ex:Closed a sh:NodeShape ; sh:targetClass ex:A ; sh:closed true ;
    sh:property [ sh:path ex:p ; sh:minCount 1 ] .
ex:Used a sh:NodeShape ; sh:targetClass ex:B ; sh:property [ sh:path ex:q ; sh:minCount 1 ] .
ex:User a sh:NodeShape ; sh:targetClass ex:C ; sh:node ex:Used .
ex:Off a sh:NodeShape ; sh:targetClass ex:D ; sh:deactivated true ;
    sh:property [ sh:path ex:r ; sh:minCount 1 ] .
ex:Path a sh:PropertyShape ; sh:targetClass ex:E ; sh:path ex:s ;
    sh:property [ sh:path ex:t ; sh:minCount 1 ] .
ex:Class a sh:NodeShape, <http://www.w3.org/2000/01/rdf-schema#Class> ; sh:targetClass ex:F ;
    sh:property [ sh:path ex:u ; sh:minCount 1 ] .
"""


def test_shapes_whose_property_list_is_read_as_a_whole_stay_as_written() -> None:
    shapes = Graph().parse(data=SHAPES, format="turtle")
    rewritten = targeted(shapes)
    for name in ("Closed", "Used", "Off", "Path", "Class"):
        assert (URIRef("https://example.org/" + name), SH.property, None) in rewritten, name
