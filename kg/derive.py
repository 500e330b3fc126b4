"""One derivation step for every inferred triple, computed at build time from the asserted graph.

The reasoner (`reasonable` with kg.rules, or owlrl) says *what* is entailed but not *why*. This
module replays the OWL 2 RL rules (OWL 2 Profiles, section 4.3, tables 4 to 9, named as there;
our completion rules in kg.rules use the same names) breadth-first from the asserted triples,
recording for each new triple the rule, the schema axiom and the premises of the step that
first produced it. Breadth-first rounds give every triple its level (asserted = 0, otherwise
1 + the highest level of its premises), so a derivation never cycles. Blank nodes (class
expressions, lists) are named by a hash of their structure, which keeps the file byte-stable.
The read-only side (kg.explain) reads the file this module writes; nothing here runs per request.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from rdflib import BNode, Literal, URIRef
from rdflib.namespace import OWL, RDF, RDFS
from rdflib.plugins.serializers.nt import _quoteLiteral

from kg.errors import BuildError
from kg.rules import cyclic_gc_paused
from kg.triples import Triple
from kg.vocab import CYTOKG, DCTERMS

TYPE, SUB, EQC = RDF.type, RDFS.subClassOf, OWL.equivalentClass
SPO, EQP, INV = RDFS.subPropertyOf, OWL.equivalentProperty, OWL.inverseOf
DOMAIN, RANGE, SAME = RDFS.domain, RDFS.range, OWL.sameAs
ON_PROPERTY, HAS_VALUE = OWL.onProperty, OWL.hasValue
SOME, ALL = OWL.someValuesFrom, OWL.allValuesFrom
INTERSECTION, UNION, ONE_OF, CHAIN = (OWL.intersectionOf, OWL.unionOf, OWL.oneOf,
                                      OWL.propertyChainAxiom)
TRANSITIVE, SYMMETRIC = OWL.TransitiveProperty, OWL.SymmetricProperty
FUNCTIONAL, INVERSE_FUNCTIONAL = OWL.FunctionalProperty, OWL.InverseFunctionalProperty
# The order in which equally short steps are preferred: instance rules with one axiom first.
RULES = ("prp-inv1", "prp-inv2", "prp-symp", "prp-spo1", "prp-eqp1", "prp-eqp2", "prp-trp",
         "prp-spo2", "prp-dom", "prp-rng", "prp-fp", "prp-ifp", "cax-sco", "cax-eqc1",
         "cax-eqc2", "cls-hv1", "cls-hv2", "cls-svf1", "cls-svf2", "cls-avf", "cls-int1",
         "cls-int2", "cls-uni", "cls-oo", "scm-sco", "scm-eqc1", "scm-eqc2", "scm-spo",
         "scm-eqp1", "scm-eqp2", "scm-dom1", "scm-dom2", "scm-rng1", "scm-rng2", "scm-int",
         "scm-uni", "scm-cls", "scm-hv", "scm-svf1", "scm-svf2", "scm-avf1", "scm-avf2", "eq-sym",
         "eq-trans", "eq-rep-s", "eq-rep-p", "eq-rep-o")
RANK = {rule: i for i, rule in enumerate(RULES)}
MAX_ROUNDS = 1000
# The prefixes the derivations file abbreviates IRIs with (stated in its first line).
FILE_PREFIXES = {"cytokg": str(CYTOKG), "rdf": str(RDF), "rdfs": str(RDFS), "owl": str(OWL),
                 "obo": "http://purl.obolibrary.org/obo/", "dcterms": str(DCTERMS)}
_BY_LENGTH = sorted(FILE_PREFIXES.items(), key=lambda pair: -len(pair[1]))
PMID, DOI = CYTOKG.pmid, CYTOKG.doi
FIRST, REST, NIL, THING, LABEL = RDF.first, RDF.rest, RDF.nil, OWL.Thing, RDFS.label
CLASS = OWL.Class
# Sets, made once: membership hashes where `==` runs rdflib's Python-level __eq__.
ANNOTATED_SOURCE, ANNOTATED_PROPERTY, ANNOTATED_TARGET = (
    OWL.annotatedSource, OWL.annotatedProperty, OWL.annotatedTarget)
_ANNOTATION_PARTS = frozenset({ANNOTATED_SOURCE, ANNOTATED_PROPERTY, ANNOTATED_TARGET,
                               DCTERMS.source})
_SOURCE_FACTS = frozenset({LABEL, PMID, DOI})
_TYPE = frozenset({TYPE})
_VOCABULARY = (TYPE, SUB, EQC, SPO, EQP, INV, DOMAIN, RANGE, SAME, ON_PROPERTY, HAS_VALUE, SOME,
               ALL, INTERSECTION, UNION, ONE_OF, CHAIN, TRANSITIVE, SYMMETRIC, FUNCTIONAL,
               INVERSE_FUNCTIONAL, FIRST, REST, NIL, THING, CLASS)
_CHARACTERISTICS = frozenset({TRANSITIVE, SYMMETRIC, FUNCTIONAL, INVERSE_FUNCTIONAL})


@dataclass(frozen=True)
class Step:
    """How a triple was first derived: rule, schema axiom triples, other premises, level."""

    rule: str
    axiom: tuple[Triple, ...]
    premises: tuple[Triple, ...]
    level: int


def _index() -> defaultdict:
    """A predicate -> key -> values index."""
    return defaultdict(lambda: defaultdict(set))


class Names:
    """Stable names: N-Triples for IRIs and literals, a structural hash for blank nodes."""

    def __init__(self, base: Iterable[Triple]) -> None:
        self.about: dict = defaultdict(list)
        for s, p, o in base:
            if isinstance(s, BNode):
                self.about[s].append((p, o))
        self._names: dict = {}
        self.expressions: dict[str, dict] = {}

    def name(self, term) -> str:
        """The stable text of a term."""
        found = self._names.get(term)
        if found is None:
            if isinstance(term, Literal):
                found = _quoteLiteral(term)
            elif isinstance(term, BNode):
                found = self._expression(term, frozenset())
            else:
                found = term.n3()
            self._names[term] = found
        return found

    def _expression(self, node: BNode, seen: frozenset) -> str:
        """Name a blank node after its structure and remember that structure for the file."""
        if node in seen:
            return "_:cycle"
        seen = seen | {node}
        pairs = self.about.get(node, [])
        values: dict = defaultdict(list)
        for p, o in pairs:
            values[p].append(o)

        def arg(term) -> str:
            return self._expression(term, seen) if isinstance(term, BNode) else self.name(term)

        def items(head) -> list[str]:
            out, guard = [], 0
            while isinstance(head, BNode) and guard < 10_000:
                first = self.about_value(head, FIRST)
                if first is None:
                    break
                out.append(arg(first))
                head = self.about_value(head, REST)
                guard += 1
            return out

        if FIRST in values:
            op, args = "list", items(node)
        elif INTERSECTION in values:
            op, args = "and", items(values[INTERSECTION][0])
        elif UNION in values:
            op, args = "or", items(values[UNION][0])
        elif ONE_OF in values:
            op, args = "oneOf", items(values[ONE_OF][0])
        elif ON_PROPERTY in values and (HAS_VALUE in values or SOME in values or ALL in values):
            kind = HAS_VALUE if HAS_VALUE in values else SOME if SOME in values else ALL
            op = {HAS_VALUE: "value", SOME: "some", ALL: "only"}[kind]
            args = [arg(values[ON_PROPERTY][0]), arg(values[kind][0])]
        else:
            op = "node"
            args = sorted(f"{self.name(p)} {arg(o)}" for p, o in pairs if p not in _TYPE)
        text = json.dumps([op, args], ensure_ascii=False)
        key = "_:e" + hashlib.sha256(text.encode()).hexdigest()[:16]
        self.expressions[key] = {"op": op, "args": args}
        return key

    def about_value(self, node: BNode, predicate: URIRef):
        """The first object of `predicate` on a blank node, or None."""
        for p, o in self.about.get(node, ()):
            if p == predicate:
                return o
        return None


class Deriver:
    """Breadth-first OWL 2 RL with provenance: the first, shortest step for each triple."""

    def __init__(self, base: set[Triple], names: Names) -> None:
        self.names = names
        self.level: dict[Triple, int] = {}
        self.steps: dict[Triple, Step] = {}
        self.out = _index()  # p -> s -> {o}
        self.inn = _index()  # p -> o -> {s}
        self.pending: dict[Triple, tuple] = {}
        self._dispatch = {TYPE: self._type_rules, SUB: self._subclass_rules,
                          EQC: self._equivalent_class_rules, SPO: self._subproperty_rules,
                          EQP: self._subproperty_rules, DOMAIN: self._domain_range_rules,
                          RANGE: self._domain_range_rules, INV: self._inverse_rules,
                          SAME: self._same_as_rules}
        self._static(base)

    # ------------------------------------------------------------------ static TBox structure

    def _static(self, base: set[Triple]) -> None:
        """Read lists, restrictions, intersections, unions, enumerations and chains once."""
        index = _index()
        for s, p, o in base:
            index[p][s].add(o)
        self.base_index = index

        def one(p, s):
            return next(iter(index[p].get(s, ())), None)

        def items(head) -> list:
            out, guard = [], 0
            while head is not None and head != NIL and guard < 10_000:
                first = one(FIRST, head)
                if first is not None:
                    out.append(first)
                head = one(REST, head)
                guard += 1
            return out

        self.list_triples: dict = {}
        self.on_property = {r: one(ON_PROPERTY, r) for r in index[ON_PROPERTY]}
        self.has_value: dict = defaultdict(list)  # (p, v) -> restrictions
        self.value_of: dict = {}  # restriction -> (p, v)
        self.some: dict = defaultdict(list)  # p -> [(restriction, filler)]
        self.some_filler: dict = defaultdict(list)  # filler -> [(restriction, p)]
        self.all: dict = defaultdict(list)  # p -> [(restriction, filler)]
        self.all_of: dict = {}  # restriction -> (p, filler)
        for r, p in self.on_property.items():
            for v in index[HAS_VALUE].get(r, ()):
                self.has_value[(p, v)].append(r)
                self.value_of[r] = (p, v)
            for y in index[SOME].get(r, ()):
                self.some[p].append((r, y))
                self.some_filler[y].append((r, p))
            for y in index[ALL].get(r, ()):
                self.all[p].append((r, y))
                self.all_of[r] = (p, y)
        self.parts = {c: items(one(INTERSECTION, c)) for c in index[INTERSECTION]}
        self.in_intersection: dict = defaultdict(list)
        for c, parts in self.parts.items():
            for part in set(parts):
                self.in_intersection[part].append(c)
        self.union_parts = {c: items(one(UNION, c)) for c in index[UNION]}
        self.in_union: dict = defaultdict(list)
        for c, parts in self.union_parts.items():
            for part in set(parts):
                self.in_union[part].append(c)
        self.one_of = {c: items(one(ONE_OF, c)) for c in index[ONE_OF]}
        self.chains: dict = defaultdict(list)  # property at some position -> [(P, chain, i)]
        for prop, heads in index[CHAIN].items():
            for head in heads:
                chain = items(head)
                for i, q in enumerate(chain):
                    self.chains[q].append((prop, head, chain, i))

    def restriction_axiom(self, r) -> tuple[Triple, ...]:
        """The triples that define a restriction, as a step's axiom."""
        found = []
        for p in (ON_PROPERTY, HAS_VALUE, SOME, ALL):
            found.extend((r, p, o) for o in self.base_index[p].get(r, ()))
        return tuple(found)

    # ------------------------------------------------------------------ the rounds

    def run(self, base: set[Triple]) -> None:
        """Give level 0 to the asserted triples, then derive round by round until nothing is new."""
        delta = set(base)
        for t in delta:
            self._know(t, 0)
        self._axiom_only_rules()
        for level in range(MAX_ROUNDS):
            for t in delta:
                self._fire(t)
            if not self.pending:
                return
            delta = set(self.pending)
            for t, (_, step) in self.pending.items():
                self.steps[t] = Step(step[0], step[1], step[2], level + 1)
                self._know(t, level + 1)
            self.pending = {}
        raise BuildError(f"the derivations did not settle in {MAX_ROUNDS} rounds")

    def _know(self, t: Triple, level: int) -> None:
        """Record a triple as known at a level and index it."""
        s, p, o = t
        self.level[t] = level
        self.out[p][s].add(o)
        self.inn[p][o].add(s)

    def emit(self, conclusion: Triple, rule: str, axiom: tuple, premises: tuple) -> None:
        """Offer a step for a conclusion; the first round wins, then the smallest key.

        Every premise given is known already (the callers look them up in the indexes).
        """
        if conclusion in self.level or isinstance(conclusion[0], Literal):
            return
        name, level = self.names.name, self.level
        # Prefer steps applying asserted axioms, then the rule order, then the premises' text.
        key = (max((level[a] for a in axiom), default=0), RANK[rule],
               tuple(" ".join(map(name, t)) for t in (*axiom, *premises)))
        held = self.pending.get(conclusion)
        if held is None or key < held[0]:
            self.pending[conclusion] = (key, (rule, tuple(axiom), tuple(premises)))

    def _axiom_only_rules(self) -> None:
        """Rules whose only premises are schema axioms: cls-oo, scm-int, scm-uni."""
        for c, members in self.one_of.items():
            for x in members:
                self.emit((x, TYPE, c), "cls-oo", self._tbox(c, ONE_OF), ())
        for c, parts in self.parts.items():
            for part in parts:
                self.emit((c, SUB, part), "scm-int", self._tbox(c, INTERSECTION), ())
        for c, parts in self.union_parts.items():
            for part in parts:
                self.emit((part, SUB, c), "scm-uni", self._tbox(c, UNION), ())

    def _tbox(self, s, p) -> tuple[Triple, ...]:
        """The asserted (s p o) triples, as an axiom."""
        return tuple((s, p, o) for o in self.base_index[p].get(s, ()))

    def _fire(self, t: Triple) -> None:
        """Apply every rule in which this newly known triple is one of the premises."""
        schema_rules = self._dispatch.get(t[1])
        if schema_rules is not None:
            schema_rules(t)
        self._property_rules(t)

    # ------------------------------------------------------------------ rules by premise

    def _property_rules(self, t: Triple) -> None:
        """Rules with (s p o) as a data premise: prp-*, cls-hv2, cls-svf*, cls-avf, eq-rep-*."""
        s, p, o = t
        out, inn = self.out, self.inn
        for c in out[DOMAIN].get(p, ()):
            self.emit((s, TYPE, c), "prp-dom", ((p, DOMAIN, c),), (t,))
        for c in out[RANGE].get(p, ()):
            if not isinstance(o, Literal):
                self.emit((o, TYPE, c), "prp-rng", ((p, RANGE, c),), (t,))
        for q in out[SPO].get(p, ()):
            self.emit((s, q, o), "prp-spo1", ((p, SPO, q),), (t,))
        for q in out[EQP].get(p, ()):
            self.emit((s, q, o), "prp-eqp1", ((p, EQP, q),), (t,))
        for q in inn[EQP].get(p, ()):
            self.emit((s, q, o), "prp-eqp2", ((q, EQP, p),), (t,))
        for q in out[INV].get(p, ()):
            self.emit((o, q, s), "prp-inv1", ((p, INV, q),), (t,))
        for q in inn[INV].get(p, ()):
            self.emit((o, q, s), "prp-inv2", ((q, INV, p),), (t,))
        kinds = out[TYPE].get(p, ())
        if SYMMETRIC in kinds:
            self.emit((o, p, s), "prp-symp", ((p, TYPE, SYMMETRIC),), (t,))
        if TRANSITIVE in kinds:
            axiom = ((p, TYPE, TRANSITIVE),)
            for z in out[p].get(o, ()):
                self.emit((s, p, z), "prp-trp", axiom, (t, (o, p, z)))
            for w in inn[p].get(s, ()):
                self.emit((w, p, o), "prp-trp", axiom, ((w, p, s), t))
        if FUNCTIONAL in kinds:
            for other in out[p].get(s, ()):
                if other != o:
                    self.emit((o, SAME, other), "prp-fp", ((p, TYPE, FUNCTIONAL),),
                              (t, (s, p, other)))
        if INVERSE_FUNCTIONAL in kinds:
            for other in inn[p].get(o, ()):
                if other != s:
                    self.emit((s, SAME, other), "prp-ifp", ((p, TYPE, INVERSE_FUNCTIONAL),),
                              (t, (other, p, o)))
        for prop, head, chain, i in self.chains.get(p, ()):
            self._chain(t, prop, head, chain, i)
        for r in self.has_value.get((p, o), ()):
            self.emit((s, TYPE, r), "cls-hv2", self.restriction_axiom(r), (t,))
        for r, filler in self.some.get(p, ()):
            if filler == THING:
                self.emit((s, TYPE, r), "cls-svf2", self.restriction_axiom(r), (t,))
            elif filler in out[TYPE].get(o, ()):
                self.emit((s, TYPE, r), "cls-svf1", self.restriction_axiom(r),
                          (t, (o, TYPE, filler)))
        for r, filler in self.all.get(p, ()):
            if r in out[TYPE].get(s, ()):
                self.emit((o, TYPE, filler), "cls-avf", self.restriction_axiom(r),
                          ((s, TYPE, r), t))
        for s2 in out[SAME].get(s, ()):
            self.emit((s2, p, o), "eq-rep-s", (), ((s, SAME, s2), t))
        for p2 in out[SAME].get(p, ()):
            self.emit((s, p2, o), "eq-rep-p", (), ((p, SAME, p2), t))
        for o2 in out[SAME].get(o, ()):
            self.emit((s, p, o2), "eq-rep-o", (), ((o, SAME, o2), t))

    def _chain(self, t: Triple, prop, head, chain: list, i: int) -> None:
        """prp-spo2: extend the triple along the chain both ways and emit every full path."""
        out, inn = self.out, self.inn
        lefts = [(t[0], ())]
        for q in reversed(chain[:i]):
            lefts = [(x, ((x, q, y), *path)) for y, path in lefts for x in inn[q].get(y, ())]
        rights = [(t[2], ())]
        for q in chain[i + 1:]:
            rights = [(z, (*path, (y, q, z))) for y, path in rights for z in out[q].get(y, ())]
        axiom = ((prop, CHAIN, head),)
        for x, left in lefts:
            for z, right in rights:
                self.emit((x, prop, z), "prp-spo2", axiom, (*left, t, *right))

    def _type_rules(self, t: Triple) -> None:
        """Rules with (x rdf:type c) as a premise: cax-*, cls-int*, cls-uni, cls-hv1, cls-svf1."""
        x, _, c = t
        out, inn = self.out, self.inn
        for d in out[SUB].get(c, ()):
            self.emit((x, TYPE, d), "cax-sco", ((c, SUB, d),), (t,))
        for d in out[EQC].get(c, ()):
            self.emit((x, TYPE, d), "cax-eqc1", ((c, EQC, d),), (t,))
        for d in inn[EQC].get(c, ()):
            self.emit((x, TYPE, d), "cax-eqc2", ((d, EQC, c),), (t,))
        if c in self.parts:
            for part in self.parts[c]:
                self.emit((x, TYPE, part), "cls-int2", self._tbox(c, INTERSECTION), (t,))
        types = out[TYPE].get(x, ())
        for whole in self.in_intersection.get(c, ()):
            parts = self.parts[whole]
            if all(part in types for part in parts):
                self.emit((x, TYPE, whole), "cls-int1", self._tbox(whole, INTERSECTION),
                          tuple((x, TYPE, part) for part in parts))
        for whole in self.in_union.get(c, ()):
            self.emit((x, TYPE, whole), "cls-uni", self._tbox(whole, UNION), (t,))
        if c in self.value_of:
            p, v = self.value_of[c]
            self.emit((x, p, v), "cls-hv1", self.restriction_axiom(c), (t,))
        for r, p in self.some_filler.get(c, ()):
            for u in inn[p].get(x, ()):
                self.emit((u, TYPE, r), "cls-svf1", self.restriction_axiom(r), ((u, p, x), t))
        if c in self.all_of:
            p, filler = self.all_of[c]
            for v in out[p].get(x, ()):
                self.emit((v, TYPE, filler), "cls-avf", self.restriction_axiom(c), (t, (x, p, v)))
        if c in _CHARACTERISTICS:
            self._characteristic_rules(t)
        elif c == CLASS and x != THING:
            # RULE scm-cls (its one non-reflexive part that can lead anywhere: domains and
            # ranges widened to owl:Thing by scm-dom1 and scm-rng1).
            self.emit((x, SUB, THING), "scm-cls", (), (t,))

    def _characteristic_rules(self, t: Triple) -> None:
        """prp-trp, prp-symp, prp-fp, prp-ifp for a characteristic known only now."""
        p, _, kind = t
        pairs = [(s, o) for s, objs in self.out[p].items() for o in objs]
        for s, o in pairs:
            if kind == SYMMETRIC:
                self.emit((o, p, s), "prp-symp", (t,), ((s, p, o),))
            elif kind == TRANSITIVE:
                for z in self.out[p].get(o, ()):
                    self.emit((s, p, z), "prp-trp", (t,), ((s, p, o), (o, p, z)))
            elif kind == FUNCTIONAL:
                for other in self.out[p].get(s, ()):
                    if other != o:
                        self.emit((o, SAME, other), "prp-fp", (t,), ((s, p, o), (s, p, other)))
            else:
                for other in self.inn[p].get(o, ()):
                    if other != s:
                        self.emit((s, SAME, other), "prp-ifp", (t,), ((s, p, o), (other, p, o)))

    def _subclass_rules(self, t: Triple) -> None:
        """Rules with (c1 rdfs:subClassOf c2) as a premise: cax-sco and the scm-* rules."""
        c1, _, c2 = t
        out, inn = self.out, self.inn
        for x in inn[TYPE].get(c1, ()):
            self.emit((x, TYPE, c2), "cax-sco", (t,), ((x, TYPE, c1),))
        for c3 in out[SUB].get(c2, ()):
            self.emit((c1, SUB, c3), "scm-sco", (), (t, (c2, SUB, c3)))
        for c0 in inn[SUB].get(c1, ()):
            self.emit((c0, SUB, c2), "scm-sco", (), ((c0, SUB, c1), t))
        if c1 in out[SUB].get(c2, ()):
            self.emit((c1, EQC, c2), "scm-eqc2", (), (t, (c2, SUB, c1)))
            self.emit((c2, EQC, c1), "scm-eqc2", (), ((c2, SUB, c1), t))
        for p in inn[DOMAIN].get(c1, ()):
            self.emit((p, DOMAIN, c2), "scm-dom1", (), ((p, DOMAIN, c1), t))
        for p in inn[RANGE].get(c1, ()):
            self.emit((p, RANGE, c2), "scm-rng1", (), ((p, RANGE, c1), t))
        for r1, p in self.some_filler.get(c1, ()):
            for r2, p2 in self.some_filler.get(c2, ()):
                if p == p2:
                    self.emit((r1, SUB, r2), "scm-svf1",
                              self.restriction_axiom(r1) + self.restriction_axiom(r2), (t,))
        for r1, (p, y1) in self.all_of.items():
            if y1 != c1:
                continue
            for r2, (p2, y2) in self.all_of.items():
                if y2 == c2 and p == p2:
                    self.emit((r1, SUB, r2), "scm-avf1",
                              self.restriction_axiom(r1) + self.restriction_axiom(r2), (t,))

    def _equivalent_class_rules(self, t: Triple) -> None:
        """Rules with (c1 owl:equivalentClass c2): cax-eqc1/2 over known members, scm-eqc1."""
        c1, _, c2 = t
        for x in self.inn[TYPE].get(c1, ()):
            self.emit((x, TYPE, c2), "cax-eqc1", (t,), ((x, TYPE, c1),))
        for x in self.inn[TYPE].get(c2, ()):
            self.emit((x, TYPE, c1), "cax-eqc2", (t,), ((x, TYPE, c2),))
        self.emit((c1, SUB, c2), "scm-eqc1", (), (t,))
        self.emit((c2, SUB, c1), "scm-eqc1", (), (t,))

    def _subproperty_rules(self, t: Triple) -> None:
        """Rules with (p1 rdfs:subPropertyOf p2) or (p1 owl:equivalentProperty p2)."""
        p1, kind, p2 = t
        out, inn = self.out, self.inn
        if kind == EQP:
            for s, objs in list(out[p1].items()):
                for o in objs:
                    self.emit((s, p2, o), "prp-eqp1", (t,), ((s, p1, o),))
            for s, objs in list(out[p2].items()):
                for o in objs:
                    self.emit((s, p1, o), "prp-eqp2", (t,), ((s, p2, o),))
            self.emit((p1, SPO, p2), "scm-eqp1", (), (t,))
            self.emit((p2, SPO, p1), "scm-eqp1", (), (t,))
            return
        for s, objs in list(out[p1].items()):
            for o in objs:
                self.emit((s, p2, o), "prp-spo1", (t,), ((s, p1, o),))
        for p3 in out[SPO].get(p2, ()):
            self.emit((p1, SPO, p3), "scm-spo", (), (t, (p2, SPO, p3)))
        for p0 in inn[SPO].get(p1, ()):
            self.emit((p0, SPO, p2), "scm-spo", (), ((p0, SPO, p1), t))
        if p1 in out[SPO].get(p2, ()):
            self.emit((p1, EQP, p2), "scm-eqp2", (), (t, (p2, SPO, p1)))
        for c in out[DOMAIN].get(p2, ()):
            self.emit((p1, DOMAIN, c), "scm-dom2", (), ((p2, DOMAIN, c), t))
        for c in out[RANGE].get(p2, ()):
            self.emit((p1, RANGE, c), "scm-rng2", (), ((p2, RANGE, c), t))
        for (p, v), rs in self.has_value.items():
            if p == p1:
                for r2 in self.has_value.get((p2, v), ()):
                    for r1 in rs:
                        self.emit((r1, SUB, r2), "scm-hv",
                                  self.restriction_axiom(r1) + self.restriction_axiom(r2), (t,))
        for r1, y in self.some.get(p1, ()):
            for r2, y2 in self.some.get(p2, ()):
                if y == y2:
                    self.emit((r1, SUB, r2), "scm-svf2",
                              self.restriction_axiom(r1) + self.restriction_axiom(r2), (t,))
        for r1, y in self.all.get(p1, ()):
            for r2, y2 in self.all.get(p2, ()):
                if y == y2:  # contravariant: (p2 only y) is a subclass of (p1 only y)
                    self.emit((r2, SUB, r1), "scm-avf2",
                              self.restriction_axiom(r1) + self.restriction_axiom(r2), (t,))

    def _domain_range_rules(self, t: Triple) -> None:
        """Rules with (p rdfs:domain c) or (p rdfs:range c): prp-dom/rng over known pairs, scm-*."""
        p, kind, c = t
        for s, objs in list(self.out[p].items()):
            for o in objs:
                if kind == DOMAIN:
                    self.emit((s, TYPE, c), "prp-dom", (t,), ((s, p, o),))
                elif not isinstance(o, Literal):
                    self.emit((o, TYPE, c), "prp-rng", (t,), ((s, p, o),))
        one, two = ("scm-dom1", "scm-dom2") if kind == DOMAIN else ("scm-rng1", "scm-rng2")
        for c2 in self.out[SUB].get(c, ()):
            self.emit((p, kind, c2), one, (), (t, (c, SUB, c2)))
        for p0 in self.inn[SPO].get(p, ()):
            self.emit((p0, kind, c), two, (), (t, (p0, SPO, p)))

    def _inverse_rules(self, t: Triple) -> None:
        """prp-inv1 and prp-inv2 over the pairs already known, for an inverse known only now."""
        p1, _, p2 = t
        for s, objs in list(self.out[p1].items()):
            for o in objs:
                self.emit((o, p2, s), "prp-inv1", (t,), ((s, p1, o),))
        for s, objs in list(self.out[p2].items()):
            for o in objs:
                self.emit((o, p1, s), "prp-inv2", (t,), ((s, p2, o),))

    def _same_as_rules(self, t: Triple) -> None:
        """eq-sym, eq-trans and eq-rep-* with (x owl:sameAs y) as the new premise."""
        x, _, y = t
        self.emit((y, SAME, x), "eq-sym", (), (t,))
        for z in self.out[SAME].get(y, ()):
            self.emit((x, SAME, z), "eq-trans", (), (t, (y, SAME, z)))
        for w in self.inn[SAME].get(x, ()):
            self.emit((w, SAME, y), "eq-trans", (), ((w, SAME, x), t))
        for p in list(self.out):  # sameAs is rare: scan the predicates rather than index twice
            for o in list(self.out[p].get(x, ())):
                self.emit((y, p, o), "eq-rep-s", (), (t, (x, p, o)))
            for s in list(self.inn[p].get(x, ())):
                self.emit((s, p, y), "eq-rep-o", (), (t, (s, p, x)))
        for s, objs in list(self.out[x].items()):
            for o in objs:
                self.emit((s, y, o), "eq-rep-p", (), (t, (s, x, o)))


@dataclass
class Derivations:
    """The derivations file's bytes with the figures the build reports."""

    data: bytes
    steps: int
    seconds: float


def derive(asserted: set[Triple], inferred: set[Triple]) -> Derivations:
    """Derive every inferred triple from the asserted ones and render the derivations file.

    Raises BuildError listing the inferred triples no rule derives (a reasoner/rule mismatch).
    """
    with cyclic_gc_paused():  # millions of acyclic steps: 1.8x faster, the same peak memory
        return _derive(asserted, inferred)


def _derive(asserted: set[Triple], inferred: set[Triple]) -> Derivations:
    """The work of `derive`."""
    from kg.reason import logical_part  # build time only

    start = time.perf_counter()
    names = Names(asserted)
    base = merge_equal_expressions(interned(logical_part(asserted)), names)
    deriver = Deriver(base, names)
    deriver.run(base)
    missing = sorted(" ".join(map(names.name, t)) for t in inferred if t not in deriver.steps)
    if missing:
        raise BuildError(f"{len(missing)} inferred triple(s) have no derivation by the OWL 2 RL "
                         "rules kg.derive knows (a reasoner/rule mismatch)", missing[:50])
    needed = _needed(inferred, deriver)
    data = render(asserted, inferred, needed, names)
    return Derivations(data, len(needed), time.perf_counter() - start)


def interned(triples: set[Triple]) -> set[Triple]:
    """The triples made of this module's vocabulary objects wherever the terms are equal.

    Index lookups then find keys by identity instead of calling rdflib's Python-level __eq__.
    """
    held = {term: term for term in _VOCABULARY}
    keep = held.setdefault
    return {(keep(s, s), keep(p, p), keep(o, o)) for s, p, o in triples}


def merge_equal_expressions(base: set[Triple], names: Names) -> set[Triple]:
    """Make structurally equal blank nodes one node, as the file names them alike.

    Equal class expressions have equal members under the OWL 2 RL rules, so merging them
    changes no entailment about named terms, and every step the file names is then one step.
    """
    chosen: dict = {}
    merged: dict = {}
    for triple in base:
        for term in (triple[0], triple[2]):
            if isinstance(term, BNode) and term not in merged:
                merged[term] = chosen.setdefault(names.name(term), term)
    if len(chosen) == len(merged):
        return base
    return {(merged.get(s, s), p, merged.get(o, o)) for s, p, o in base}


def _needed(inferred: Iterable[Triple], deriver: Deriver) -> dict[Triple, Step]:
    """The steps of the inferred triples and of every derived premise they rest on."""
    needed: dict[Triple, Step] = {}
    stack = list(inferred)
    while stack:
        t = stack.pop()
        if t in needed or t not in deriver.steps:
            continue
        step = needed[t] = deriver.steps[t]
        stack.extend(step.axiom)
        stack.extend(step.premises)
    return needed


def render(asserted: set[Triple], inferred: set[Triple], needed: dict[Triple, Step],
           names: Names) -> bytes:
    """Write prefixes, class expressions, sources and steps as JSON lines, sorted.

    IRIs in a namespace of FILE_PREFIXES are written as CURIEs (a term that starts with a
    letter), everything else in N-Triples: `<iri>`, `"literal"`, `_:e...` for an expression.
    """

    short: dict = {}

    def name(term) -> str:
        found = short.get(term)
        if found is None:
            found = short[term] = compact(names.name(term))
        return found

    def triple(t: Triple) -> list[str]:
        return [name(t[0]), name(t[1]), name(t[2])]

    steps: dict[tuple, tuple] = {}  # structurally equal blank nodes share a name: keep one step
    used_asserted: set[Triple] = set()
    for t, step in needed.items():
        record = _line({"kind": "step", "triple": triple(t), "level": step.level,
                        "rule": step.rule, "axiom": [triple(a) for a in step.axiom],
                        "premises": [triple(p) for p in step.premises],
                        "released": t in inferred})
        key = tuple(triple(t))
        if key not in steps or (step.level, record) < steps[key]:
            steps[key] = (step.level, record)
        used_asserted.update(x for x in (*step.axiom, *step.premises) if x not in needed)
    lines = [("4", record) for _, record in steps.values()]
    provenance = _provenance(asserted)
    source_iris: set = set()
    for t in used_asserted:
        sources = provenance.get(t)
        if sources:
            source_iris.update(sources)
            lines.append(("3", _line({"kind": "sources", "triple": triple(t),
                                      "sources": sorted(name(s) for s in sources)})))
    about = _index()
    for s, p, o in asserted:
        if p in _SOURCE_FACTS and s in source_iris:
            about[p][s].add(o)
    for src in source_iris:
        record = {"kind": "source", "source": name(src)}
        for key, p in (("label", LABEL), ("pmid", PMID), ("doi", DOI)):
            values = sorted(str(v) for v in about[p].get(src, ()))
            if values:
                record[key] = values[0]
        lines.append(("2", _line(record)))
    for key in _referenced(names, [record for _, record in lines]):
        expr = names.expressions[key]
        args = expr["args"] if expr["op"] == "node" else [compact(a) for a in expr["args"]]
        lines.append(("1", _line({"kind": "expression", "id": key, "op": expr["op"],
                                  "args": args})))
    lines.append(("0", _line({"kind": "prefixes", "prefixes": FILE_PREFIXES})))
    return "".join(record + "\n" for _, record in sorted(lines)).encode()


def compact(term: str) -> str:
    """Write an N-Triples IRI as a CURIE when a file prefix fits and the local name is plain."""
    if term.startswith("<"):
        iri = term[1:-1]
        for prefix, namespace in _BY_LENGTH:
            if iri.startswith(namespace) and _PLAIN_LOCAL.fullmatch(iri[len(namespace):]):
                return f"{prefix}:{iri[len(namespace):]}"
    return term


def _referenced(names: Names, records: list[str]) -> set[str]:
    """The class expressions the records name, and those they name in turn."""
    found: set[str] = set()
    stack = [key for record in records for key in _EXPRESSION_ID.findall(record)]
    while stack:
        key = stack.pop()
        if key in found or key not in names.expressions:
            continue
        found.add(key)
        stack.extend(_EXPRESSION_ID.findall(json.dumps(names.expressions[key]["args"])))
    return found


_PLAIN_LOCAL = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")
_EXPRESSION_ID = re.compile(r'"(_:e[0-9a-f]{16})')


def _line(record: dict) -> str:
    """One JSON line, keys in the order given."""
    return json.dumps(record, ensure_ascii=False, separators=(",", ":"))


def _provenance(asserted: Iterable[Triple]) -> dict[Triple, set]:
    """The dcterms:source of each annotated asserted triple (owl:Axiom annotations)."""
    parts = _index()
    for s, p, o in asserted:
        if p in _ANNOTATION_PARTS and isinstance(s, BNode):
            parts[p][s].add(o)
    found: dict[Triple, set] = defaultdict(set)
    for ax, sources in parts[DCTERMS.source].items():
        for s in parts[ANNOTATED_SOURCE].get(ax, ()):
            for p in parts[ANNOTATED_PROPERTY].get(ax, ()):
                for o in parts[ANNOTATED_TARGET].get(ax, ()):
                    found[(s, p, o)].update(sources)
    return found
