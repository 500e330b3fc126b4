"""The OWL 2 RL closure of the asserted graph (owlrl), cut down to the triples users want.

The inferred graph is the closure minus the asserted triples minus noise: axiomatic triples about
the RDF, RDFS, OWL and XSD vocabularies, statements about anonymous class expressions, reflexive
`owl:sameAs`, `owl:Thing` memberships and trivially reflexive schema triples. Annotations carry no
logical meaning (OWL 2 Direct Semantics ignores them), so they are left out of the reasoner's input.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property

from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import OWL, RDF, RDFS, XSD

from kg import rules
from kg.errors import BuildError
from kg.layout import DEFAULT_ENGINE
from kg.triples import Triple, graph_over

VOCABULARY_NAMESPACES = (str(RDF), str(RDFS), str(OWL), str(XSD))
REFLEXIVE_NOISE = (OWL.sameAs, OWL.equivalentClass, OWL.equivalentProperty,
                   RDFS.subClassOf, RDFS.subPropertyOf)
TRIVIAL_OBJECTS = (OWL.Thing, RDFS.Resource)
# owlrl's namespace for the error messages it adds to a closure (owlrl.Namespaces.ERRNS).
ERRNS = Namespace("http://www.daml.org/2002/03/agents/agent-ont#")
# The predicates the consistency check reads, so that it indexes only those triples.
CONSISTENCY_PREDICATES = frozenset({RDF.type, RDF.first, RDF.rest, OWL.disjointWith,
                                    OWL.members, OWL.differentFrom, OWL.sameAs, ERRNS.error})


@dataclass
class Closure:
    """The inferred triples, with the figures the build reports."""

    triples: set[Triple]
    produced: int
    kept: int
    seconds: float

    @cached_property
    def inferred(self) -> Graph:
        """The inferred triples as an rdflib Graph, made on first use."""
        return graph_over(self.triples)


def logical_part(asserted: Iterable[Triple]) -> set[Triple]:
    """Copy the asserted graph without annotations, the reasoner's input.

    Axiom annotations and annotation assertions have no meaning under the OWL 2 Direct
    Semantics; an annotation property that takes part in a schema axiom of its own (a
    sub-property, domain, range or characteristic) is kept, since a rule could then use it.
    """
    # Set membership hashes (cheap) where == would call rdflib's Python-level __eq__.
    is_type, axiom, annotation_property = {RDF.type}, {OWL.Axiom}, {OWL.AnnotationProperty}
    annotations, annotation_properties = set(), set()
    for s, p, o in asserted:
        if p in is_type:
            if o in axiom:
                annotations.add(s)
            elif o in annotation_property:
                annotation_properties.add(s)
    used_with: dict = {p: set() for p in annotation_properties}
    for s, p, _ in asserted:
        if s in used_with:
            used_with[s].add(p)
    inert = {p for p in annotation_properties
             if not any(predicate not in (RDF.type, RDFS.label)
                        and predicate not in annotation_properties
                        for predicate in used_with[p])}
    inert |= {RDFS.label, RDFS.comment}
    return {t for t in asserted if t[0] not in annotations and t[1] not in inert}


def is_noise(triple: tuple) -> bool:
    """Tell whether an entailed triple is one that users never want to see."""
    subject, predicate, obj = triple
    if isinstance(subject, BNode) or isinstance(obj, BNode):
        return True
    if isinstance(subject, Literal) or str(subject).startswith(VOCABULARY_NAMESPACES):
        return True
    if predicate in _REFLEXIVE_NOISE and subject == obj:
        return True
    if predicate in _TYPE_OR_SUBCLASS and obj in _TRIVIAL_OBJECTS:
        return True
    if predicate in _TYPE and obj in _TRIVIAL_TYPES:
        return True
    # Datatype junk: literals typed as rdfs:Literal or members of XSD datatypes.
    return isinstance(obj, URIRef) and predicate in _TYPE and str(obj).startswith(_XSD)


# The same terms as sets, made once: membership hashes where `==` runs rdflib's Python __eq__,
# and rdflib's namespaces make a new term on every attribute access.
_REFLEXIVE_NOISE = frozenset(REFLEXIVE_NOISE)
_TRIVIAL_OBJECTS = frozenset(TRIVIAL_OBJECTS)
_TYPE = frozenset({RDF.type})
_TYPE_OR_SUBCLASS = frozenset({RDF.type, RDFS.subClassOf})
_TRIVIAL_TYPES = frozenset({OWL.NamedIndividual, OWL.Thing})
_XSD = str(XSD)


def owlrl_closure(base: set[Triple]) -> set[Triple]:
    """The reference closure: owlrl's OWL 2 RL semantics, without axiomatic triples."""
    import owlrl  # only the reference engine needs it

    closure = Graph()
    for triple in base:
        closure.add(triple)
    owlrl.DeductiveClosure(owlrl.OWLRL_Semantics, axiomatic_triples=False,
                           datatype_axioms=False).expand(closure)
    return set(closure)


ENGINES = {"owlrl": owlrl_closure, "reasonable": rules.closure}


def close(asserted: Iterable[Triple], engine: str = DEFAULT_ENGINE,
          base: set[Triple] | None = None) -> Closure:
    """Compute the OWL 2 RL closure, check it for inconsistency and keep the useful inferences.

    `base` is `logical_part(asserted)` if the caller has made it already: the closure depends
    on nothing else, which is what lets the build cache key it by the hash of that part alone.
    """
    start = time.perf_counter()
    if base is None:
        base = logical_part(asserted)
    closure = ENGINES[engine](base)
    check_consistency(closure)
    inferred = set()
    produced = 0
    for triple in closure:
        if triple in base:
            continue
        produced += 1
        if not is_noise(triple):
            inferred.add(triple)
    return Closure(triples=inferred, produced=produced, kept=len(inferred),
                   seconds=time.perf_counter() - start)


def check_consistency(closure: Iterable[Triple]) -> None:
    """Fail on an inconsistency: owlrl error messages, owl:Nothing members, disjointness clashes."""
    index = rules.build_index(t for t in closure if t[1] in CONSISTENCY_PREDICATES)
    types = index[RDF.type]
    members = rules.class_members(index)
    problems: list[str] = []
    # RULE cls-nothing2: no individual may be a member of owl:Nothing.
    for member in sorted(members.get(OWL.Nothing, ())):
        problems.append(f"{member.n3()} rdf:type owl:Nothing"
                        + _because(types, member))
    # RULE cax-dw and cax-adc: no individual may be a member of two disjoint classes.
    for first, second in sorted(disjoint_pairs(index)):
        for member in sorted(members.get(first, set()) & members.get(second, set())):
            problems.append(f"{member.n3()} rdf:type {first.n3()} and {member.n3()} rdf:type "
                            f"{second.n3()}, but the two classes are disjoint"
                            + _because(types, member))
    # RULE eq-diff1: no two individuals may be both the same and different.
    different = ((first, second) for first, seconds in index[OWL.differentFrom].items()
                 for second in seconds)
    for first, second in sorted(different):
        if second in index[OWL.sameAs].get(first, ()) or first == second:
            problems.append(f"{first.n3()} owl:sameAs {second.n3()} and {first.n3()} "
                            f"owl:differentFrom {second.n3()}")
    messages = {str(m) for node in members.get(ERRNS.ErrorMessage, ())
                for m in index[ERRNS.error].get(node, ())}
    if not problems:
        problems.extend(f"owlrl: {m}" for m in sorted(messages))
    if problems:
        raise BuildError(f"the graph is inconsistent ({len(problems)} problem(s))", problems)


def disjoint_pairs(index: dict) -> set[tuple[URIRef, URIRef]]:
    """Collect the pairs of named classes declared disjoint, pairwise or all together."""
    pairs: set[tuple[URIRef, URIRef]] = set()
    for first, seconds in index[OWL.disjointWith].items():
        for second in seconds:
            pairs.add(tuple(sorted((first, second))))
    for node in rules.class_members(index).get(OWL.AllDisjointClasses, ()):
        heads = index[OWL.members].get(node, ())
        members = rules.rdf_list(index, next(iter(heads), None))
        for i, first in enumerate(members):
            for second in members[i + 1:]:
                pairs.add(tuple(sorted((first, second))))
    return {p for p in pairs if all(isinstance(c, URIRef) for c in p)}


def _because(types: dict, member: URIRef) -> str:
    """List the asserted-or-entailed types of an individual, to show where a clash comes from."""
    found = sorted(t.n3() for t in types.get(member, ()) if isinstance(t, URIRef))
    return f" (its types: {', '.join(found)})" if found else ""
