"""The RDF/XML release in a second OWL toolkit: owlready2 loads it, HermiT finds it consistent, and
another ontology that imports our version IRI can use our terms."""

from __future__ import annotations

from pathlib import Path

import owlready2
import pytest
from owlready2 import World, sync_reasoner
from rdflib import Graph

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "importer" / "study.owl"
CYTOKG = "https://w3id.org/cytokg/"
# owlready2 names an ontology by its IRI followed by '#'.
ONTOLOGY_BASE = CYTOKG + "cytokg.owl#"


@pytest.fixture(scope="module")
def world(real_release: Path) -> World:
    """An owlready2 world holding the importing ontology and, through its import, our release."""
    world = World()
    # owlready2 resolves an imported IRI to a file of the same last segment on onto_path.
    owlready2.onto_path.insert(0, str(real_release))
    try:
        world.get_ontology(FIXTURE.as_uri()).load()
    finally:
        owlready2.onto_path.remove(str(real_release))
    return world


def test_release_loads_and_is_consistent_under_hermit(world: World) -> None:
    ours = world.get_ontology(CYTOKG + "cytokg.owl")
    assert ours.loaded
    with ours:
        sync_reasoner(world, infer_property_values=False, debug=0)
    assert list(world.inconsistent_classes()) == []


def test_importing_ontology_sees_our_terms(world: World) -> None:
    study = world.get_ontology("http://example.org/cytokine-study.owl")
    assert [o.base_iri for o in study.imported_ontologies] == [ONTOLOGY_BASE]
    il6 = world[CYTOKG + "IL6"]
    assert il6 is not None
    assert "interleukin 6" in [str(label) for label in il6.label]
    cytokine = world[CYTOKG + "Cytokine"]
    assert il6 in list(cytokine.instances())
    elisa = world["http://example.org/cytokine-study.owl#il6Elisa"]
    assert elisa.measures == [il6]


def test_turtle_release_loads_in_owlready2(real_release: Path, tmp_path: Path) -> None:
    # owlready2 has no Turtle parser: the Turtle release goes in as N-Triples, unchanged.
    lines = tmp_path / "cytokg-from-turtle.nt"
    Graph().parse(real_release / "cytokg.ttl", format="turtle").serialize(lines, format="nt")
    world = World()
    onto = world.get_ontology(lines.as_uri()).load()
    assert onto.base_iri == ONTOLOGY_BASE
    assert "interleukin 6" in [str(label) for label in world[CYTOKG + "IL6"].label]
    with onto:
        sync_reasoner(world, infer_property_values=False, debug=0)
    assert list(world.inconsistent_classes()) == []
