"""OWL 2 RL reasoning: the rules our model relies on, noise removal and inconsistency reports."""

from __future__ import annotations

from pathlib import Path

import pytest
import rdflib
from rdflib import Graph
from rdflib.namespace import OWL, RDF, RDFS

from kg import rules
from kg.build import Project, build
from kg.errors import BuildError
from kg.reason import close
from kg.sources import load
from kg.vocab import CYTOKG

REPO = Path(__file__).resolve().parent.parent

IL2 = CYTOKG.IL2
IL6 = CYTOKG.IL6
LYMPHOCYTE = CYTOKG.Lymphocyte
T_LYMPHOCYTE = CYTOKG.TLymphocyte
MACROPHAGE = CYTOKG.Macrophage
XSD_NS = "http://www.w3.org/2001/XMLSchema#"
VOCABULARIES = (str(RDF), str(RDFS), str(OWL), XSD_NS)


ENGINES = ["owlrl", "reasonable"]


@pytest.fixture(params=ENGINES)
def closure(mini: Project, request: pytest.FixtureRequest):
    """The closure of the tiny fixture's asserted graph, by each reasoner engine."""
    sources = load(mini.ontology)
    return sources.graph, close(sources.graph, request.param)


def test_rule_prp_inv_inverse_of_produced_by(closure) -> None:
    asserted, result = closure
    assert (MACROPHAGE, CYTOKG.produces, IL6) not in asserted
    assert (MACROPHAGE, CYTOKG.produces, IL6) in result.inferred


def test_rule_prp_spo2_chain_produced_by_subtype_of(closure) -> None:
    asserted, result = closure
    assert (IL2, CYTOKG.producedBy, LYMPHOCYTE) not in asserted
    assert (IL2, CYTOKG.producedBy, LYMPHOCYTE) in result.inferred


def test_rule_cls_hv2_defined_class_membership_appears_only_after_reasoning(closure) -> None:
    asserted, result = closure
    assert (IL2, RDF.type, CYTOKG.Lymphokine) not in asserted
    assert (IL2, RDF.type, CYTOKG.Lymphokine) in result.inferred
    assert (IL6, RDF.type, CYTOKG.Lymphokine) not in result.inferred


def test_rule_cax_sco_subclass_membership(closure) -> None:
    _, result = closure
    assert (IL6, RDF.type, CYTOKG.Cytokine) in result.inferred


def test_inferred_graph_holds_no_noise(closure) -> None:
    asserted, result = closure
    for subject, predicate, obj in result.inferred:
        assert not str(subject).startswith(VOCABULARIES), (subject, predicate, obj)
        assert not (predicate == OWL.sameAs and subject == obj)
        assert obj not in (OWL.Thing, RDFS.Resource, OWL.NamedIndividual)
        assert not (predicate == RDF.type and str(obj).startswith(XSD_NS))
        assert (subject, predicate, obj) not in asserted
    assert result.produced > result.kept > 0


def test_axiom_annotations_are_not_reasoned_over(closure) -> None:
    _, result = closure
    assert not set(result.inferred.subjects(RDF.type, OWL.Axiom))


def add_to_tbox(project: Project, turtle: str) -> None:
    """Append statements to the fixture's edit file."""
    tbox = project.ontology / "cytokg.ttl"
    tbox.write_text(tbox.read_text() + "\n" + turtle + "\n")


@pytest.mark.parametrize("engine", ENGINES)
def test_rule_cls_nothing2_member_of_nothing_fails_the_build(mini: Project, engine: str) -> None:
    add_to_tbox(mini, "cytokg:IL6 a owl:Nothing .")
    with pytest.raises(BuildError) as error:
        build(mini, progress=lambda _: None, reasoner=engine)
    message = str(error.value)
    assert "inconsistent" in message
    assert "<https://w3id.org/cytokg/IL6> rdf:type owl:Nothing" in message


@pytest.mark.parametrize("engine", ENGINES)
def test_rule_cax_adc_disjoint_classes_clash_names_the_triples(mini: Project, engine: str) -> None:
    table = mini.ontology / "data" / "cytokines.tsv"
    text = table.read_text().replace("IL6\tInterleukin\t", "IL6\tInterleukin | CellType\t")
    table.write_text(text)
    with pytest.raises(BuildError) as error:
        build(mini, progress=lambda _: None, reasoner=engine)
    message = str(error.value)
    assert ("<https://w3id.org/cytokg/IL6> rdf:type <https://w3id.org/cytokg/CellType> and "
            "<https://w3id.org/cytokg/IL6> rdf:type <https://w3id.org/cytokg/Cytokine>, but the "
            "two classes are disjoint") in message
    assert not mini.out.exists()


@pytest.mark.parametrize("engine", ENGINES)
def test_rule_eq_diff1_same_and_different_fails_the_build(mini: Project, engine: str) -> None:
    add_to_tbox(mini, "cytokg:IL2 owl:sameAs cytokg:IL6 ; owl:differentFrom cytokg:IL6 .")
    with pytest.raises(BuildError) as error:
        build(mini, progress=lambda _: None, reasoner=engine)
    assert ("<https://w3id.org/cytokg/IL2> owl:sameAs <https://w3id.org/cytokg/IL6> and "
            "<https://w3id.org/cytokg/IL2> owl:differentFrom <https://w3id.org/cytokg/IL6>"
            ) in str(error.value)


def test_rule_prp_irp_owlrl_error_triple_fails_the_build(mini: Project) -> None:
    add_to_tbox(mini, "cytokg:subtypeOf a owl:IrreflexiveProperty .\n"
                      "cytokg:Lymphocyte cytokg:subtypeOf cytokg:Lymphocyte .")
    with pytest.raises(BuildError) as error:
        build(mini, progress=lambda _: None, reasoner="owlrl")
    message = str(error.value)
    assert "owlrl: Irreflexive property" in message
    assert "https://w3id.org/cytokg/Lymphocyte" in message


def test_fast_engine_refuses_owl_it_does_not_implement(mini: Project) -> None:
    add_to_tbox(mini, "cytokg:subtypeOf a owl:IrreflexiveProperty .")
    with pytest.raises(BuildError) as error:
        build(mini, progress=lambda _: None, reasoner="reasonable")
    assert str(error.value) == ("the reasonable engine does not implement owl:IrreflexiveProperty;"
                                " build with --reasoner owlrl")


def test_engines_give_the_same_inferred_graph_on_the_fixture(mini: Project) -> None:
    graph = load(mini.ontology).graph
    assert set(close(graph, "owlrl").inferred) == set(close(graph, "reasonable").inferred)


def test_engines_give_the_same_inferred_graph_on_our_ontology() -> None:
    graph = load(REPO / "ontology").graph
    owlrl_inferred = set(close(graph, "owlrl").inferred)
    fast_inferred = set(close(graph, "reasonable").inferred)
    assert fast_inferred - owlrl_inferred == set()
    assert owlrl_inferred - fast_inferred == set()


def test_consistent_fixture_reasons_without_error(mini: Project) -> None:
    assert build(mini, progress=lambda _: None).built
    inferred = Graph().parse(mini.out / "cytokg-inferred.ttl")
    assert (IL2, RDF.type, CYTOKG.Lymphokine) in inferred


def test_fast_engine_hands_back_the_input_terms_themselves() -> None:
    # The stand-in term factory returns the objects it was given, so equal terms are identical.
    ex = "http://example.org/"
    a, knows, person = (rdflib.URIRef(ex + name) for name in ("a", "knows", "Person"))
    name, blank = rdflib.Literal("Ann"), rdflib.BNode("b1")
    base = {(a, knows, blank), (a, RDFS.label, name), (knows, RDFS.domain, person)}
    closed = rules.closure(base)
    assert (a, RDF.type, person) in closed
    held = {id(term) for triple in base for term in triple}
    for s, p, o in closed:
        for term in (s, p, o):
            if any(term == t for t in (a, knows, person, name, blank)):
                assert id(term) in held, term
    label = next(o for s, p, o in closed if p == RDFS.label)
    assert label.datatype is None  # an xsd:string literal comes back plain, as rdflib parses it


def test_term_factory_gives_rdflib_its_classes_back_even_on_error() -> None:
    factory = rules.TermFactory()
    with pytest.raises(RuntimeError), factory.standing_in():
        assert rdflib.URIRef("http://example.org/x") is rdflib.URIRef("http://example.org/x")
        raise RuntimeError("the reasoner failed")
    assert (rdflib.URIRef, rdflib.Literal, rdflib.BNode) == (
        rdflib.term.URIRef, rdflib.term.Literal, rdflib.term.BNode)
