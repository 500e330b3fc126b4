"""A fast OWL 2 RL closure: the Rust reasoner `reasonable`, completed by the rules it lacks.

`reasonable` closes a graph under most of OWL 2 RL in a fraction of owlrl's time, but it does not
apply the class-expression rules our TBox relies on. This module applies those rules (OWL 2
Profiles, section 4.3, tables 6 and 9) over plain Python indexes and hands what they add back to
the same `reasonable` reasoner, until nothing new appears. The tests check that the result
equals owlrl's closure on our data, which is what lets this engine stand beside the reference
one.
"""

from __future__ import annotations

import gc
from collections import defaultdict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

import rdflib
from rdflib import BNode, Literal, URIRef
from rdflib.namespace import OWL, RDF, RDFS, XSD

from kg.errors import BuildError

Triple = tuple
MAX_ROUNDS = 50


def rdf_list(index: dict, head) -> list:
    """Read an RDF collection (rdf:first / rdf:rest) from the index."""
    items = []
    while head is not None and head != RDF.nil and len(items) < 10_000:
        items.extend(index[RDF.first].get(head, ()))
        rest = index[RDF.rest].get(head, ())
        head = next(iter(rest), None)
    return items


def build_index(triples: Iterable[Triple]) -> dict:
    """Index triples as predicate -> subject -> objects."""
    index: dict = defaultdict(lambda: defaultdict(set))
    for s, p, o in triples:
        index[p][s].add(o)
    return index


def class_members(index: dict) -> dict:
    """Index the members of every class, once per round of rules."""
    by_class: dict = defaultdict(set)
    for x, types in index[RDF.type].items():
        for cls in types:
            by_class[cls].add(x)
    return by_class


def class_rules(triples: set[Triple]) -> set[Triple]:
    """Apply the class-expression and chain rules once and return what they entail."""
    index = build_index(triples)
    by_class = class_members(index)

    def members(cls) -> set:
        """Every x with (x rdf:type cls)."""
        return by_class.get(cls, set())

    new: set[Triple] = set()
    on_property = {r: next(iter(ps)) for r, ps in index[OWL.onProperty].items()}
    for restriction, prop in on_property.items():
        pairs = index[prop]
        for value in index[OWL.hasValue].get(restriction, ()):
            # RULE cls-hv1: a member of (p value v) has p v.
            new.update((x, prop, value) for x in members(restriction))
            # RULE cls-hv2: whatever has p v is a member of (p value v).
            new.update((x, RDF.type, restriction) for x, objs in pairs.items() if value in objs)
        for filler in index[OWL.someValuesFrom].get(restriction, ()):
            if filler == OWL.Thing:
                # RULE cls-svf2: whatever has some p is a member of (p some owl:Thing).
                new.update((x, RDF.type, restriction) for x in pairs)
            else:
                # RULE cls-svf1: whatever has p to a member of C is in (p some C).
                typed = members(filler)
                new.update((x, RDF.type, restriction) for x, objs in pairs.items()
                           if objs & typed)
    for cls, heads in index[OWL.intersectionOf].items():
        parts = rdf_list(index, next(iter(heads)))
        in_all = set.intersection(*(members(c) for c in parts)) if parts else set()
        # RULE scm-int: the intersection is a subclass of each of its parts.
        new.update((cls, RDFS.subClassOf, c) for c in parts)
        # RULE cls-int1: a member of every part is a member of the intersection.
        new.update((x, RDF.type, cls) for x in in_all)
        # RULE cls-int2: a member of the intersection is a member of every part.
        for x in members(cls):
            new.update((x, RDF.type, c) for c in parts)
    for cls, heads in index[OWL.oneOf].items():
        # RULE cls-oo: each listed individual is a member of the enumeration.
        new.update((x, RDF.type, cls) for x in rdf_list(index, next(iter(heads))))
    for first, seconds in index[OWL.equivalentClass].items():
        for second in seconds:
            # RULE scm-eqc1: equivalent classes are subclasses of each other.
            new.update({(first, RDFS.subClassOf, second), (second, RDFS.subClassOf, first)})
            # RULE cax-eqc1 and cax-eqc2: equivalent classes share their members.
            new.update((x, RDF.type, second) for x in members(first))
            new.update((x, RDF.type, first) for x in members(second))
    for sub, supers in index[RDFS.subPropertyOf].items():
        # RULE scm-spo: a sub-property of a sub-property is a sub-property (transitivity).
        new.update((sub, RDFS.subPropertyOf, top) for mid in supers
                   for top in index[RDFS.subPropertyOf].get(mid, ()))
    for prop, heads in index[OWL.propertyChainAxiom].items():
        # RULE prp-spo2: a path along the chain's properties implies the chained property.
        chain = rdf_list(index, next(iter(heads)))
        frontier = {(x, y) for x, ys in index[chain[0]].items() for y in ys} if chain else set()
        for step in chain[1:]:
            frontier = {(x, z) for x, y in frontier for z in index[step].get(y, ())}
        new.update((x, prop, z) for x, z in frontier)
    return new - triples


XSD_STRING = str(XSD.string)


class TermFactory:
    """Build each distinct rdflib term once, for `reasonable` to hand back.

    The binding looks `rdflib.URIRef`, `rdflib.Literal` and `rdflib.BNode` up on every
    `reason()` call and builds three new terms for every triple of the whole closure, each
    round; building them took most of a round's time. Standing in for those three names during
    the call, this returns the term already held for the same arguments: the very object of the
    input where there is one (so later set operations compare by identity), otherwise one built
    by rdflib's own class with the same arguments and kept. Literals of `xsd:string` come back
    plain, as rdflib parses them (RDF 1.1 equates the two).
    """

    def __init__(self) -> None:
        self.iris: dict[str, URIRef] = {}
        self.blanks: dict[str, BNode] = {}
        self.literals: dict[tuple, Literal] = {}

    def hold(self, triples: Iterable[Triple]) -> None:
        """Make the terms of these triples the ones handed back for their arguments."""
        for triple in triples:
            for term in triple:
                if type(term) is URIRef:
                    self.iris.setdefault(str(term), term)
                elif type(term) is BNode:
                    self.blanks.setdefault(str(term), term)
                elif type(term) is Literal and term.datatype is None:
                    key = (str(term), term.language, None if term.language else XSD_STRING)
                    self.literals.setdefault(key, term)

    def iri(self, value: str) -> URIRef:
        """`rdflib.URIRef(value)`, held."""
        term = self.iris.get(value)
        if term is None:
            term = self.iris[value] = URIRef(value)
        return term

    def blank(self, value: str) -> BNode:
        """`rdflib.BNode(value)`, held."""
        term = self.blanks.get(value)
        if term is None:
            term = self.blanks[value] = BNode(value)
        return term

    def literal(self, lexical: str, lang: str | None = None, datatype: str | None = None
                ) -> Literal:
        """`rdflib.Literal(lexical, lang, datatype)`, held; plain for `xsd:string`."""
        key = (lexical, lang, datatype)
        term = self.literals.get(key)
        if term is None:
            if datatype == XSD_STRING and lang is None:
                term = Literal(lexical)
            else:
                term = Literal(lexical, lang, datatype)
            self.literals[key] = term
        return term

    @contextmanager
    def standing_in(self) -> Iterator[None]:
        """Stand in for rdflib's term classes, for the duration of one `reason()` call.

        Only build processes reason, one call at a time, and nothing else runs in them then.
        """
        saved = rdflib.URIRef, rdflib.Literal, rdflib.BNode
        rdflib.URIRef, rdflib.Literal, rdflib.BNode = self.iri, self.literal, self.blank
        try:
            yield
        finally:
            rdflib.URIRef, rdflib.Literal, rdflib.BNode = saved


class Reasoner:
    """One `reasonable` reasoner, fed the triples once and then only what the rules add."""

    def __init__(self, triples: set[Triple]) -> None:
        import reasonable  # a compiled extension; only this engine needs it

        self._reasoner = reasonable.PyReasoner()
        self._terms = TermFactory()
        self.closure: set[Triple] = set(triples)
        self.add(triples)

    def add(self, triples: Iterable[Triple]) -> None:
        """Add triples (rdflib terms; `reasonable` reads any iterable) and close again."""
        triples = list(triples)
        self._terms.hold(triples)
        self._reasoner.from_graph(triples)
        with self._terms.standing_in():
            closed = self._reasoner.reason()
        self.closure.update(closed)


# The OWL vocabulary this engine is known to close as owlrl does (checked by the tests); a TBox
# using anything else of the OWL namespace must be reasoned with the reference engine.
SUPPORTED = {OWL[name] for name in (
    "Class", "ObjectProperty", "DatatypeProperty", "AnnotationProperty", "NamedIndividual",
    "Ontology", "versionIRI", "versionInfo", "imports", "Restriction", "Thing", "Nothing",
    "onProperty", "hasValue", "someValuesFrom", "intersectionOf", "oneOf", "equivalentClass",
    "inverseOf", "TransitiveProperty", "SymmetricProperty", "FunctionalProperty",
    "propertyChainAxiom", "AllDisjointClasses", "members", "disjointWith", "sameAs",
    "differentFrom", "Axiom", "annotatedSource", "annotatedProperty", "annotatedTarget",
    "deprecated")}


def unsupported(triples: Iterable[Triple]) -> set:
    """The OWL terms used as properties or classes that this engine does not implement."""
    used = set()
    for _, p, o in triples:
        used.add(p)
        if p == RDF.type:
            used.add(o)
    return {t for t in used if str(t).startswith(str(OWL)) and t not in SUPPORTED}


@contextmanager
def cyclic_gc_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector for a run that allocates millions of tuples.

    A closure is millions of acyclic tuples of terms; while they are made, every full
    collection walks all of them again, which took about 40% of a large closure's time.
    Reference counting still frees them; the collector runs again afterwards.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def closure(base: set[Triple]) -> set[Triple]:
    """Alternate `reasonable` and the missing rules until the closure stops growing."""
    missing = unsupported(base)
    if missing:
        names = ", ".join(sorted(f"owl:{str(t).removeprefix(str(OWL))}" for t in missing))
        raise BuildError(f"the reasonable engine does not implement {names}; "
                         f"build with --reasoner owlrl")
    with cyclic_gc_paused():
        return _closure(base)


def _closure(base: set[Triple]) -> set[Triple]:
    """The loop of `closure`."""
    reasoner = Reasoner(set(base))
    for _ in range(MAX_ROUNDS):
        new = class_rules(reasoner.closure)
        if not new:
            break
        reasoner.closure |= new  # the rules build their triples from the closure's own terms
        reasoner.add(new)
    else:
        raise RuntimeError(f"the closure did not settle in {MAX_ROUNDS} rounds")
    return {t for t in reasoner.closure if not isinstance(t[0], Literal)}

