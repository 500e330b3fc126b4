"""The OWL 2 RL closure of the asserted graph (owlrl), cut down to the triples users want.

The inferred graph is the closure minus the asserted triples minus noise: axiomatic triples about
the RDF, RDFS, OWL and XSD vocabularies, statements about anonymous class expressions, reflexive
`owl:sameAs`, `owl:Thing` memberships and trivially reflexive schema triples. Annotations carry no
logical meaning (OWL 2 Direct Semantics ignores them), so they are left out of the reasoner's input.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import owlrl
from owlrl.Namespaces import ERRNS
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import OWL, RDF, RDFS, XSD

from kg import rules
from kg.errors import BuildError

VOCABULARY_NAMESPACES = (str(RDF), str(RDFS), str(OWL), str(XSD))
REFLEXIVE_NOISE = (OWL.sameAs, OWL.equivalentClass, OWL.equivalentProperty,
                   RDFS.subClassOf, RDFS.subPropertyOf)
TRIVIAL_OBJECTS = (OWL.Thing, RDFS.Resource)


@dataclass
class Closure:
    """The inferred triples, with the figures the build reports."""

    inferred: Graph
    produced: int
    kept: int
    seconds: float


def logical_part(asserted: Graph) -> Graph:
    """Copy the asserted graph without annotations, the reasoner's input.

    Axiom annotations and annotation assertions have no meaning under the OWL 2 Direct
    Semantics; an annotation property that takes part in a schema axiom of its own (a
    sub-property, domain, range or characteristic) is kept, since a rule could then use it.
    """
    annotations = set(asserted.subjects(RDF.type, OWL.Axiom))
    inert = {p for p in asserted.subjects(RDF.type, OWL.AnnotationProperty)
             if not any(predicate not in (RDF.type, RDFS.label)
                        and not annotation(asserted, predicate)
                        for predicate in asserted.predicates(p, None))}
    inert |= {RDFS.label, RDFS.comment}
    graph = Graph()
    for triple in asserted:
        if triple[0] not in annotations and triple[1] not in inert:
            graph.add(triple)
    return graph


def annotation(graph: Graph, predicate) -> bool:
    """Tell whether a predicate is itself an annotation property (so it says nothing logical)."""
    return (predicate, RDF.type, OWL.AnnotationProperty) in graph


def is_noise(triple: tuple) -> bool:
    """Tell whether an entailed triple is one that users never want to see."""
    subject, predicate, obj = triple
    if isinstance(subject, BNode) or isinstance(obj, BNode):
        return True
    if isinstance(subject, Literal) or str(subject).startswith(VOCABULARY_NAMESPACES):
        return True
    if predicate in REFLEXIVE_NOISE and subject == obj:
        return True
    if predicate in (RDF.type, RDFS.subClassOf) and obj in TRIVIAL_OBJECTS:
        return True
    if predicate == RDF.type and obj in (OWL.NamedIndividual, OWL.Thing):
        return True
    # Datatype junk: literals typed as rdfs:Literal or members of XSD datatypes.
    return isinstance(obj, URIRef) and predicate == RDF.type and str(obj).startswith(str(XSD))


def owlrl_closure(base: Graph) -> Graph:
    """The reference closure: owlrl's OWL 2 RL semantics, without axiomatic triples."""
    closure = Graph()
    for triple in base:
        closure.add(triple)
    owlrl.DeductiveClosure(owlrl.OWLRL_Semantics, axiomatic_triples=False,
                           datatype_axioms=False).expand(closure)
    return closure


ENGINES = {"owlrl": owlrl_closure, "reasonable": rules.closure}
# The fast engine is the default because the tests show it gives owlrl's closure on our data.
DEFAULT_ENGINE = "reasonable"


def close(asserted: Graph, engine: str = DEFAULT_ENGINE) -> Closure:
    """Compute the OWL 2 RL closure, check it for inconsistency and keep the useful inferences."""
    start = time.perf_counter()
    base = logical_part(asserted)
    closure = ENGINES[engine](base)
    check_consistency(closure)
    inferred = Graph()
    produced = 0
    for triple in closure:
        if triple in base:
            continue
        produced += 1
        if not is_noise(triple):
            inferred.add(triple)
    return Closure(inferred=inferred, produced=produced, kept=len(inferred),
                   seconds=time.perf_counter() - start)


def check_consistency(closure: Graph) -> None:
    """Fail on an inconsistency: owlrl error messages, owl:Nothing members, disjointness clashes."""
    problems: list[str] = []
    # RULE cls-nothing2: no individual may be a member of owl:Nothing.
    for member in sorted(closure.subjects(RDF.type, OWL.Nothing)):
        problems.append(f"{member.n3()} rdf:type owl:Nothing"
                        + _because(closure, member))
    # RULE cax-dw and cax-adc: no individual may be a member of two disjoint classes.
    for first, second in sorted(disjoint_pairs(closure)):
        for member in sorted(set(closure.subjects(RDF.type, first))
                             & set(closure.subjects(RDF.type, second))):
            problems.append(f"{member.n3()} rdf:type {first.n3()} and {member.n3()} rdf:type "
                            f"{second.n3()}, but the two classes are disjoint"
                            + _because(closure, member))
    # RULE eq-diff1: no two individuals may be both the same and different.
    for first, second in sorted(closure.subject_objects(OWL.differentFrom)):
        if (first, OWL.sameAs, second) in closure or first == second:
            problems.append(f"{first.n3()} owl:sameAs {second.n3()} and {first.n3()} "
                            f"owl:differentFrom {second.n3()}")
    messages = {str(m) for node in closure.subjects(RDF.type, ERRNS.ErrorMessage)
                for m in closure.objects(node, ERRNS.error)}
    if not problems:
        problems.extend(f"owlrl: {m}" for m in sorted(messages))
    if problems:
        raise BuildError(f"the graph is inconsistent ({len(problems)} problem(s))", problems)


def disjoint_pairs(graph: Graph) -> set[tuple[URIRef, URIRef]]:
    """Collect the pairs of named classes declared disjoint, pairwise or all together."""
    pairs: set[tuple[URIRef, URIRef]] = set()
    for first, second in graph.subject_objects(OWL.disjointWith):
        pairs.add(tuple(sorted((first, second))))
    for node in graph.subjects(RDF.type, OWL.AllDisjointClasses):
        members = list(graph.items(graph.value(node, OWL.members)))
        for i, first in enumerate(members):
            for second in members[i + 1:]:
                pairs.add(tuple(sorted((first, second))))
    return {p for p in pairs if all(isinstance(c, URIRef) for c in p)}


def _because(graph: Graph, member: URIRef) -> str:
    """List the asserted-or-entailed types of an individual, to show where a clash comes from."""
    types = sorted(t.n3() for t in graph.objects(member, RDF.type) if isinstance(t, URIRef))
    return f" (its types: {', '.join(types)})" if types else ""
