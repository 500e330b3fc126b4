"""Reason a large release in independent pieces: a shared TBox plus ABox bins, unioned exactly.

The OWL 2 RL rules (OWL 2 Profiles, section 4.3, tables 4-9) are Horn rules, so the closure of
the whole graph is the union of the closures of `X + B_i` (X a shared part, the B_i the rest cut
into bins) exactly when no rule instance needs premises derived in two different bins. This
module cuts the graph so that this holds and then checks that it did.

Cutting. *Shared terms* are the literals, the RDF/RDFS/OWL/XSD vocabulary, every predicate,
every object of `rdf:type`, and every term of a schema axiom (the subjects and objects of
triples with a schema predicate such as `rdfs:subClassOf`, `owl:onProperty`, `owl:hasValue`,
together with the RDF lists those axioms use and anything typed as a class, property,
restriction or ontology). This makes classes, properties and the individuals the TBox names
(`owl:hasValue`, `owl:oneOf`) shared. Every other IRI or blank node is a *node*. The TBox is
every asserted triple without a node; the ABox triples are grouped into the connected
components of their nodes, so shared terms never connect two components.

Where rules join across components. A rule joins premises of two components only through a
variable bound to a shared term. Going through tables 4-9, the rules whose non-schema premises
share a variable that is not their common subject-with-a-node are:

* eq-trans, eq-rep-s/-p/-o: an `owl:sameAs` with a shared term on one side copies every
  triple of that term, in every component, onto the other side;
* prp-fp, cls-maxc2, cls-maxqc3/-4: a shared subject (or two literal values) of a functional
  (or max-cardinality 1) property makes the values of different components the same;
* prp-ifp: two subjects with the same shared value (a literal, say) of an inverse-functional
  property become the same;
* prp-key: two members of a class with `owl:hasKey` whose key values are all shared (literals)
  become the same;
* prp-trp and prp-spo2: a transitive property or a property chain walks through a shared
  individual, from the component that points at it to the component it points at;
* and every rule whose premise is a triple about shared terms only (cls-svf1's `y rdf:type C`,
  the scm-* rules): such a triple must follow from the shared part alone.

Rules with one non-schema premise (cax-sco, prp-dom, prp-rng, prp-inv, ...) or whose premises
share a subject (cax-dw, cls-int1, cls-avf, cls-hv1, prp-pdw, ...) stay within a component, and
so do the completion rules of `kg.rules` (cls-hv1/2, cls-svf1/2, cls-int1/2, cls-oo, cax-eqc,
scm-*; prp-spo2 is the chain case above).

So, before reasoning, components that share the value of an inverse-functional or key property
or the subject of a functional one are merged, and for every shared individual a transitive
property or chain walks through, the smaller side (the components pointing at it, or those it
points at) joins the shared part X that every bin reasons with. A triple about shared terms only
that a bin infers and X does not entail is lifted into X, and the bins whose closures lacked it
are reasoned again (`reason_bins`). After reasoning, each bin's closure is checked against every
case above (`_Signs`, `_Checker`), and a graph that could still join bins is refused with a
`PartitionError`: the union is then not known to be exact. With these, every rule instance has
its premises in the closure of X or in one bin's, which is why the union equals the closure of
the whole. Every bin reasons with X, so a bin treats the nodes of X's core as shared terms too,
under the same checks. `closure_streamed` applies the same to chunks of a release loaded in the
workers.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from itertools import pairwise
from multiprocessing import get_context
from pathlib import Path

from rdflib import Literal, URIRef
from rdflib.namespace import OWL, RDF, RDFS, XSD

from kg.errors import BuildError
from kg.layout import DEFAULT_ENGINE
from kg.reason import ENGINES, Closure, check_consistency, is_noise, logical_part
from kg.rules import build_index, cyclic_gc_paused, rdf_list
from kg.triples import Triple

DEFAULT_BIN_TRIPLES = 250_000
DEFAULT_WORKERS = 2
VOCABULARY = (str(RDF), str(RDFS), str(OWL), str(XSD))
#: Predicates whose subject and object are schema terms (classes, properties, restrictions).
SCHEMA_PREDICATES = frozenset({
    RDFS.subClassOf, RDFS.subPropertyOf, RDFS.domain, RDFS.range, OWL.equivalentClass,
    OWL.equivalentProperty, OWL.inverseOf, OWL.disjointWith, OWL.propertyDisjointWith,
    OWL.complementOf, OWL.onProperty, OWL.onClass, OWL.onDataRange, OWL.someValuesFrom,
    OWL.allValuesFrom, OWL.hasValue, OWL.hasSelf, OWL.cardinality, OWL.minCardinality,
    OWL.maxCardinality, OWL.qualifiedCardinality, OWL.minQualifiedCardinality,
    OWL.maxQualifiedCardinality, OWL.intersectionOf, OWL.unionOf, OWL.oneOf,
    OWL.propertyChainAxiom, OWL.hasKey, OWL.onProperties, OWL.withRestrictions,
    OWL.imports, OWL.versionIRI, OWL.datatypeComplementOf, OWL.disjointUnionOf})
#: Schema predicates whose object is an RDF list of schema terms (or of TBox-named individuals).
LIST_PREDICATES = frozenset({
    OWL.intersectionOf, OWL.unionOf, OWL.oneOf, OWL.propertyChainAxiom, OWL.hasKey,
    OWL.onProperties, OWL.withRestrictions, OWL.disjointUnionOf})
#: Types that make their subject a schema term (owl:AllDifferent and owl:Axiom do not).
SCHEMA_TYPES = frozenset({
    OWL.Class, RDFS.Class, OWL.Restriction, RDF.Property, OWL.ObjectProperty,
    OWL.DatatypeProperty, OWL.AnnotationProperty, OWL.OntologyProperty, OWL.FunctionalProperty,
    OWL.InverseFunctionalProperty, OWL.TransitiveProperty, OWL.SymmetricProperty,
    OWL.AsymmetricProperty, OWL.ReflexiveProperty, OWL.IrreflexiveProperty, OWL.Ontology,
    RDFS.Datatype, OWL.AllDisjointClasses, OWL.AllDisjointProperties, OWL.DataRange})
MAX_CARDINALITIES = (OWL.maxCardinality, OWL.maxQualifiedCardinality)


class PartitionError(BuildError):
    """The graph uses a construct that could join two bins, so a partitioned closure is refused."""


# ---- shared terms, TBox and components ---------------------------------------------------------

def shared_terms(triples: Iterable[Triple]) -> set:
    """The terms that never connect components: schema terms, predicates and classes.

    Literals and vocabulary IRIs are shared too; `is_node` tests for those without a set.
    """
    shared: set = set()
    list_heads = []
    lists: list[Triple] = []
    member_lists: list[Triple] = []
    for triple in triples:
        s, p, o = triple
        shared.add(p)
        if p == RDF.type:
            shared.add(o)
            if o in SCHEMA_TYPES:
                shared.add(s)
        elif p in SCHEMA_PREDICATES:
            shared.add(s)
            shared.add(o)
            if p in LIST_PREDICATES:
                list_heads.append(o)
        elif p in _LIST_CELLS:
            lists.append(triple)
        elif p in _MEMBERS:
            member_lists.append(triple)
    # owl:members lists the classes of owl:AllDisjointClasses (schema) but also the individuals
    # of owl:AllDifferent (ABox): only the first kind is shared.
    list_heads.extend(o for s, _, o in member_lists if s in shared)
    index = build_index(lists)
    seen: set = set()
    for head in list_heads:  # the list cells and their members are part of the axiom
        while head is not None and head != RDF.nil and head not in seen:
            seen.add(head)
            shared.update(index[RDF.first].get(head, ()))
            head = next(iter(index[RDF.rest].get(head, ())), None)
    shared |= seen
    return shared


_LIST_CELLS = frozenset({RDF.first, RDF.rest})
_MEMBERS = frozenset({OWL.members})


def is_node(term, shared: set) -> bool:
    """Tell whether a term connects components: an IRI or blank node that is not shared."""
    if isinstance(term, Literal) or term in shared:
        return False
    return not (isinstance(term, URIRef) and str(term).startswith(VOCABULARY))


class _UnionFind:
    """Disjoint sets over hashable keys (path halving, union by size)."""

    def __init__(self) -> None:
        self.parent: dict = {}
        self.size: dict = {}

    def find(self, key):
        """The representative of key's set (adding key if new)."""
        parent = self.parent
        if key not in parent:
            parent[key] = key
            self.size[key] = 1
            return key
        while parent[key] is not key:
            parent[key] = parent[parent[key]]
            key = parent[key]
        return key

    def union(self, a, b) -> None:
        """Join the sets of a and b."""
        ra, rb = self.find(a), self.find(b)
        if ra is rb:
            return
        if self.size[ra] < self.size[rb]:
            ra, rb = rb, ra
        self.parent[rb] = ra
        self.size[ra] += self.size.pop(rb)


@dataclass
class Schema:
    """What the TBox's closure says about properties, read once: the constructs that join."""

    functional: set = field(default_factory=set)
    inverse_functional: set = field(default_factory=set)
    keys: list = field(default_factory=list)          # one list of key properties per axiom
    join_pairs: set = field(default_factory=set)      # (p_in, p_out) of prp-trp and prp-spo2
    supers: dict = field(default_factory=dict)        # property -> itself and super-properties
    inverses: dict = field(default_factory=dict)      # property -> its inverses

    @classmethod
    def read(cls, tbox_closure: set[Triple]) -> Schema:
        """Collect the joining constructs of a closed TBox (RULE prp-fp, prp-ifp, prp-key, ...)."""
        index = build_index(tbox_closure)
        schema = cls()
        types = index[RDF.type]
        for prop, kinds in types.items():
            if OWL.FunctionalProperty in kinds:
                schema.functional.add(prop)
            if OWL.InverseFunctionalProperty in kinds:
                schema.inverse_functional.add(prop)
            if OWL.TransitiveProperty in kinds:
                schema.join_pairs.add((prop, prop))
        for restriction, props in index[OWL.onProperty].items():  # cls-maxc2, cls-maxqc3/4
            if any(restriction in index[m] for m in MAX_CARDINALITIES):
                schema.functional.update(props)
        for _, heads in index[OWL.hasKey].items():
            schema.keys.extend(rdf_list(index, head) for head in heads)
        for _, heads in index[OWL.propertyChainAxiom].items():
            for head in heads:
                chain = rdf_list(index, head)
                schema.join_pairs.update(pairwise(chain))
        for sub, sups in index[RDFS.subPropertyOf].items():
            schema.supers[sub] = set(sups) | {sub}
        for first, seconds in index[OWL.inverseOf].items():
            for second in seconds:
                schema.inverses.setdefault(first, set()).add(second)
                schema.inverses.setdefault(second, set()).add(first)
        return schema

    def implied(self, prop) -> Iterator[tuple]:
        """The (property, reversed?) edges an asserted `prop` edge entails (prp-spo1, prp-inv)."""
        for sup in self.supers.get(prop, {prop}):
            yield sup, False
            for inverse in self.inverses.get(sup, ()):
                for top in self.supers.get(inverse, {inverse}):
                    yield top, True


@dataclass
class Partition:
    """The shared part every bin reasons with, and the bins."""

    shared: set                      # the shared terms
    tbox: set[Triple]                # triples without a node
    core: set[Triple]                # ABox components every bin needs (joins through shared terms)
    bins: list[list[Triple]]
    components: int
    merged: int                      # components merged for prp-fp / prp-ifp / prp-key

    def bin_shared(self) -> set:
        """The terms a bin treats as shared: the shared terms and the core's nodes.

        Every bin reasons with the core, so a bin may point at a core node as it may at a
        TBox-named individual, and the same cross-bin checks apply to it.
        """
        return self.shared | {t for s, _, o in self.core for t in (s, o) if is_node(t, self.shared)}


def partition(base: set[Triple], engine: str = DEFAULT_ENGINE,
              bin_triples: int = DEFAULT_BIN_TRIPLES, open_ended: bool = False) -> Partition:
    """Cut the logical part of a graph into a shared TBox, a shared core and bins of components.

    The joining constructs are read from the TBox's closure by `engine`. `open_ended` says that
    more of the graph will come (the first chunk of a streamed release): components that a
    shared individual points at through a walk then join the core even if nothing here points
    at that individual yet, since a later chunk may.
    """
    shared = shared_terms(base)
    tbox: set[Triple] = set()
    abox: list[Triple] = []
    for t in base:
        if is_node(t[0], shared) or is_node(t[2], shared):
            abox.append(t)
        else:
            tbox.add(t)
    schema = Schema.read(ENGINES[engine](tbox))
    uf = _UnionFind()
    for s, _, o in abox:
        if is_node(s, shared):
            if is_node(o, shared):
                uf.union(s, o)
            else:
                uf.find(s)
        else:
            uf.find(o)
    components_before = len({uf.find(k) for k in list(uf.parent)})
    _merge_joining_values(abox, shared, schema, uf)
    merged = components_before - len({uf.find(k) for k in list(uf.parent)})
    members: dict = defaultdict(list)
    for t in abox:
        node = t[0] if is_node(t[0], shared) else t[2]
        members[uf.find(node)].append(t)
    core_roots = _core_roots(abox, shared, schema, uf, {r: len(ts) for r, ts in members.items()},
                             open_ended)
    core = {t for root in core_roots for t in members.pop(root)}
    return Partition(shared=shared, tbox=tbox, core=core,
                     bins=pack(list(members.values()), bin_triples),
                     components=len(members) + len(core_roots), merged=merged)


def _merge_joining_values(abox: list[Triple], shared: set, schema: Schema,
                          uf: _UnionFind) -> None:
    """Merge components that prp-fp, prp-ifp or prp-key would join through a shared term."""
    key_props = {p for key in schema.keys for p in key}
    values: dict = defaultdict(lambda: defaultdict(set))   # subject -> key property -> values
    for s, p, o in abox:
        for prop, reverse in schema.implied(p):
            x, v = (o, s) if reverse else (s, o)
            if not is_node(x, shared):
                if prop in schema.functional and is_node(v, shared):
                    uf.union(v, ("prp-fp", prop, x))   # a shared subject of a functional property
                continue
            if is_node(v, shared):
                continue
            if prop in schema.inverse_functional:
                uf.union(x, ("prp-ifp", prop, v))
            if prop in key_props:
                values[x][prop].add(v)
    for x, by_prop in values.items():
        for i, key in enumerate(schema.keys):
            if all(by_prop.get(p) for p in key):
                for combination in _product([sorted(by_prop[p], key=str) for p in key]):
                    uf.union(x, ("prp-key", i, combination))


def _product(lists: list[list]) -> Iterator[tuple]:
    """Every combination taking one item from each list."""
    if not lists:
        yield ()
        return
    for head in lists[0]:
        for rest in _product(lists[1:]):
            yield (head, *rest)


def _core_roots(abox: list[Triple], shared: set, schema: Schema, uf: _UnionFind,
                sizes: dict, open_ended: bool = False) -> set:
    """The components to share with every bin, so that no chain or transitive walk crosses bins.

    For each shared individual that a join pair (prp-trp, prp-spo2) walks through, the
    components pointing at it and those it points at are collected; the smaller side is shared.
    With `open_ended`, the side it points at is shared, since the rest of the graph, not seen
    here, may point at it.
    """
    ins: dict = defaultdict(set)
    outs: dict = defaultdict(set)
    firsts = {p for p, _ in schema.join_pairs}
    seconds = {p for _, p in schema.join_pairs}
    for s, p, o in abox:
        for prop, reverse in schema.implied(p):
            x, y = (o, s) if reverse else (s, o)
            if prop in firsts and is_node(x, shared) and not is_node(y, shared) \
                    and not isinstance(y, Literal):
                ins[y].add(uf.find(x))
            if prop in seconds and is_node(y, shared) and not is_node(x, shared):
                outs[x].add(uf.find(y))
    core: set = set()
    if open_ended:
        for pointed in outs.values():
            core |= pointed
        return core
    for term, pointing in ins.items():
        pointed = outs.get(term, set())
        if not pointed or len(pointing | pointed) == 1:
            continue  # nothing to walk to, or a walk within one component
        side = min((pointing, pointed), key=lambda roots: sum(sizes.get(r, 0) for r in roots))
        core |= side
    return core


def pack(components: list[list[Triple]], bin_triples: int) -> list[list[Triple]]:
    """Group components, largest first, into bins of about `bin_triples` triples each."""
    bins: list[list[Triple]] = []
    current: list[Triple] = []
    for component in sorted(components, key=len, reverse=True):
        if current and len(current) + len(component) > bin_triples:
            bins.append(current)
            current = []
        current.extend(component)
    if current:
        bins.append(current)
    return bins


# ---- reasoning a bin, checking it and the union ------------------------------------------------

@dataclass
class _Signature:
    """What a bin's closure shows of the terms it shares with others: the cross-bin joins."""

    functional_subjects: set = field(default_factory=set)   # prp-fp through a shared subject
    ifp_values: set = field(default_factory=set)            # prp-ifp through a shared value
    key_values: set = field(default_factory=set)            # prp-key through shared values
    join_in: set = field(default_factory=set)               # prp-trp / prp-spo2: (pair, term)
    join_out: set = field(default_factory=set)
    nodes: set = field(default_factory=set)                 # 64-bit hashes of the bin's nodes
    new_shared: set = field(default_factory=set)            # hashes of terms it made shared
    problems: list = field(default_factory=list)            # joins seen inside the bin itself


@dataclass
class BinResult:
    """One bin's inferred triples that mention its nodes, with its figures and signature."""

    index: int
    inferred: set[Triple] | None
    written: int
    produced: int
    input_triples: int
    seconds: float
    signature: _Signature
    lifted: set[Triple] = field(default_factory=set)


_SHARED: dict = {}


def _init_worker(shared_part: set[Triple], shared_closure: set[Triple], shared: set,
                 schema: Schema, engine: str) -> None:
    """Keep the shared part, its closure and the schema in the worker, sent once per process."""
    _SHARED.update(part=shared_part, closure=shared_closure, shared=shared, schema=schema,
                   engine=engine)


def node_hash(term) -> int:
    """A 64-bit hash of a node, equal in every process (Python's str hash is salted)."""
    return int.from_bytes(hashlib.blake2b(term.n3().encode(), digest_size=8).digest(), "big")


def reason_bin(index: int, triples: Iterable[Triple], out: Path | None = None,
               with_nodes: bool = False) -> BinResult:
    """Close the shared part plus one bin, check what could join other bins, keep what is its own.

    A triple is the bin's own when it mentions one of the bin's nodes; every other triple of
    the bin's closure must already follow from the shared part alone, or the bin is refused.
    """
    with cyclic_gc_paused():  # the closure and its checks make millions of acyclic tuples
        return _reason_bin(index, triples, out, with_nodes)


def _reason_bin(index: int, triples: Iterable[Triple], out: Path | None,
                with_nodes: bool) -> BinResult:
    """The work of `reason_bin`."""
    start = time.perf_counter()
    part, shared_closure = _SHARED["part"], _SHARED["closure"]
    shared, schema = set(_SHARED["shared"]), _SHARED["schema"]
    own = set(triples) - part
    new_shared = {t for _, p, o in own for t in ((p, o) if p == RDF.type else (p,))} - shared
    shared |= new_shared  # a predicate or class first met in this bin is shared as well
    nodes = {term for s, _, o in own for term in (s, o) if is_node(term, shared)}
    base = part | own
    closure = ENGINES[_SHARED["engine"]](base)
    check_consistency(closure)
    signature = _Signature()
    if with_nodes:  # bins not cut from one graph: the parent checks that they share no node
        signature.nodes = {node_hash(n) for n in nodes}
        signature.new_shared = {node_hash(t) for t in new_shared if not isinstance(t, Literal)}
    signs = _Signs(schema)
    lifted: set[Triple] = set()
    kept: set[Triple] = set()
    produced = 0
    for triple in closure:
        s, _, o = triple
        if s not in nodes and o not in nodes:
            if not isinstance(s, Literal) and triple not in shared_closure:
                lifted.add(triple)  # about shared terms only: lifted into the shared part
            continue
        signs.sign(triple, nodes, signature)
        if triple in base:
            continue
        produced += 1
        if not is_noise(triple):
            kept.add(triple)
    del closure, base
    signs.finish(nodes, signature)
    written = len(kept)
    if out is not None:
        _write_ntriples(kept, out)
        kept = None
    return BinResult(index=index, inferred=kept, written=written, produced=produced,
                     input_triples=len(own), seconds=time.perf_counter() - start,
                     signature=signature, lifted=lifted)


class _Signs:
    """Record the joins the triples of a bin's own could take part in (tables 4-5 rules)."""

    def __init__(self, schema: Schema) -> None:
        self.schema = schema
        self.firsts: dict = defaultdict(list)
        self.seconds: dict = defaultdict(list)
        for pair in schema.join_pairs:
            self.firsts[pair[0]].append(pair)
            self.seconds[pair[1]].append(pair)
        self.key_props = {p for key in schema.keys for p in key} | schema.functional
        self.values: dict = defaultdict(lambda: defaultdict(set))

    def sign(self, triple: Triple, nodes: set, signature: _Signature) -> None:
        """Note what one triple mentioning a node of the bin shares with other bins."""
        s, p, o = triple
        schema = self.schema
        if p == OWL.sameAs and s != o and (s not in nodes or o not in nodes):
            # RULE eq-rep-s/-p/-o: a shared term the same as a node copies triples across bins.
            signature.problems.append(f"{_show(triple)}: owl:sameAs with a shared term")
        if p in schema.functional and s not in nodes:
            signature.functional_subjects.add((p, s))             # RULE prp-fp, cls-maxc2
        if p in schema.inverse_functional and o not in nodes:
            signature.ifp_values.add((p, o))                      # RULE prp-ifp
        if p in self.firsts and o not in nodes and not isinstance(o, Literal):
            signature.join_in.update((pair, o) for pair in self.firsts[p])   # prp-trp, prp-spo2
        if p in self.seconds and s not in nodes:
            signature.join_out.update((pair, s) for pair in self.seconds[p])
        if p in self.key_props and s in nodes:
            self.values[s][p].add(o)

    def finish(self, nodes: set, signature: _Signature) -> None:
        """Record key values that are all shared terms (RULE prp-key), and functional clashes."""
        schema = self.schema
        for x, by_prop in self.values.items():
            for prop in schema.functional & by_prop.keys():
                shared_values = {v for v in by_prop[prop] if v not in nodes}
                if len(shared_values) > 1:  # RULE prp-fp on two shared values (two literals)
                    signature.problems.append(f"{x.n3()} has {len(shared_values)} shared values "
                                              f"of the functional {prop.n3()}")
            for i, key in enumerate(schema.keys):
                if all(by_prop.get(p) for p in key):
                    for combination in _product([sorted(by_prop[p], key=str) for p in key]):
                        if not any(v in nodes for v in combination):
                            signature.key_values.add((i, combination))


def _show(triple: Triple) -> str:
    """A triple in N-Triples form, for messages."""
    return " ".join(term.n3() for term in triple)


def _write_ntriples(triples: Iterable[Triple], out: Path) -> None:
    """Write triples as N-Triples lines (the bin's part of the inferred graph)."""
    with out.open("w", encoding="utf-8") as fh:
        for triple in triples:
            fh.write(_show(triple) + " .\n")


class _Checker:
    """The cross-bin checks, fed one bin's signature at a time so none is kept whole."""

    def __init__(self) -> None:
        self.seen: dict[str, dict] = {name: {} for name in (
            "functional_subjects", "ifp_values", "key_values", "join_in", "join_out", "nodes")}
        self.problems: list[str] = []
        self.new_shared: set[int] = set()

    def add(self, index: int, signature: _Signature) -> None:
        """Fold one bin in, noting every join with a bin seen before (or the shared part)."""
        self.problems.extend(signature.problems[:20])
        self.new_shared |= signature.new_shared
        for name, rule in (("functional_subjects", "prp-fp"), ("ifp_values", "prp-ifp"),
                           ("key_values", "prp-key"), ("nodes", "a node in two bins")):
            seen = self.seen[name]
            for item in getattr(signature, name):
                if seen.setdefault(item, index) != index:
                    self.problems.append(f"{rule}: bins {seen[item]} and {index} share {item!r}")
        for mine, theirs, name in (("join_in", "join_out", "join_in"),
                                   ("join_out", "join_in", "join_out")):
            for item in getattr(signature, mine):
                other = self.seen[theirs].get(item)
                if other is not None and other != index:
                    self.problems.append(f"prp-trp/prp-spo2 through {item[1].n3()}: bins "
                                         f"{other} and {index}")
                self.seen[name].setdefault(item, index)

    def raise_if_any(self) -> None:
        """Refuse the union if any bin could join another."""
        clashes = self.new_shared & self.seen["nodes"].keys()
        if clashes:  # a class or property in one bin is an individual in another
            self.problems.append(f"{len(clashes)} term(s) shared in one bin are nodes in another")
        if self.problems:
            raise PartitionError(f"the partitioned closure is refused: {len(self.problems)} "
                                 "possible join(s) across bins; reason this graph whole",
                                 self.problems[:50])


# ---- the partitioned closure --------------------------------------------------------------------

@dataclass
class PartitionedClosure(Closure):
    """A Closure with the figures of the partitioned run."""

    bins: int = 0
    components: int = 0
    merged: int = 0
    core_triples: int = 0
    bin_seconds: list = field(default_factory=list)


def shared_closure(part: set[Triple], engine: str, asserted: set[Triple]
                   ) -> tuple[set[Triple], set[Triple]]:
    """Close the shared part once: its whole closure (for the checks) and its kept inferences.

    `asserted` is the asserted share of `part` (the rest was lifted from bins and is inferred).
    """
    closure = ENGINES[engine](part)
    check_consistency(closure)
    kept = {t for t in closure if t not in asserted and not is_noise(t)}
    return closure, kept


def closure_partitioned(asserted: Iterable[Triple], engine: str = DEFAULT_ENGINE,
                        workers: int = DEFAULT_WORKERS,
                        bin_triples: int = DEFAULT_BIN_TRIPLES) -> PartitionedClosure:
    """The same inferred triples as `kg.reason.close`, reasoned bin by bin in worker processes.

    The TBox and the shared core are closed once here; each bin is closed with them in a
    worker, and only the triples that mention the bin's own nodes come back, so the shared
    inferences are counted once. Bins are folded into one set as they finish.
    """
    start = time.perf_counter()
    base = logical_part(asserted)
    cut = partition(base, engine, bin_triples)
    del base
    result = PartitionedClosure(triples=set(), produced=0, kept=0, seconds=0.0,
                                bins=len(cut.bins), components=cut.components,
                                merged=cut.merged, core_triples=len(cut.core))
    for outcome in reason_bins(cut.tbox | cut.core, dict(enumerate(cut.bins)), cut.bin_shared(),
                               engine, workers):
        if outcome.inferred is not None:
            result.triples |= outcome.inferred
        result.produced += outcome.produced
        result.bin_seconds.append(round(outcome.seconds, 2))
    result.kept = len(result.triples)
    result.seconds = time.perf_counter() - start
    return result


MAX_ROUNDS = 5


def reason_bins(part: set[Triple], bins: dict, shared: set, engine: str, workers: int,
                task: Callable = reason_bin, **options) -> Iterator[BinResult]:
    """Reason every bin with the shared part, lifting what bins infer about shared terms.

    Yields each bin's result and, last, the shared part's own inferences as a result with
    index -1. A bin whose closure holds a triple about shared terms only that the shared part
    does not entail has it *lifted*: added to the shared part (it is entailed, so the closure
    of the whole does not change). The first bin is reasoned alone first, so that what it
    lifts reaches the others. A bin reasoned before a later lift is exact only if its own
    closure held every triple lifted since; the others are reasoned again, in rounds, until
    nothing more is lifted. Then the cross-bin checks run (`_Checker`), raising PartitionError.
    """
    checker = _Checker()
    lifted: set[Triple] = set()
    covered: dict = {}     # bin -> the lifted triples its closure is known to hold
    pending = list(bins)
    for round_ in range(MAX_ROUNDS + 1):
        batch = pending[:1] if round_ == 0 else pending
        closure, _ = shared_closure(part | lifted, engine, part)
        before = set(lifted)
        for outcome in run_bins(((i, bins[i]) for i in batch), part | before, closure, shared,
                                Schema.read(closure), engine, workers, task, **options):
            checker.add(outcome.index, outcome.signature)
            checker.raise_if_any()  # fail fast: a refused union needs no more bins
            lifted |= outcome.lifted
            covered[outcome.index] = before | outcome.lifted
            outcome.signature = _Signature()
            yield outcome
        del closure
        pending = [i for i in bins if i not in covered or not lifted <= covered[i]]
        if not pending:
            break
    else:
        raise PartitionError(f"bins still lift triples about shared terms after {MAX_ROUNDS} "
                             "rounds; reason this graph whole")
    checker.raise_if_any()
    closure, kept = shared_closure(part | lifted, engine, part)
    yield BinResult(index=-1, inferred=kept, written=len(kept),
                    produced=sum(1 for t in closure if t not in part), input_triples=len(part),
                    seconds=0.0, signature=_Signature())


def run_bins(bins: Iterable[tuple[int, object]], part: set[Triple], closure: set[Triple],
             shared: set, schema: Schema, engine: str, workers: int,
             task: Callable = reason_bin, **options) -> Iterator[BinResult]:
    """Run `task(i, bin, **options)` for every (i, bin) in at most `workers` fresh processes.

    Processes are spawned, not forked, so that a worker holds only its own bin and the shared
    part, not a copy of the parent's memory (a script calling this needs the usual
    `if __name__ == "__main__":` guard). At most `workers` bins are sent at a time.
    """
    workers = max(1, min(workers, os.cpu_count() or 1))
    with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn"),
                             initializer=_init_worker,
                             initargs=(part, closure, shared, schema, engine)) as pool:
        pending: set = set()
        try:
            for i, item in bins:
                pending.add(pool.submit(task, i, item, **options))
                if len(pending) >= workers:
                    done = next(as_completed(pending))
                    pending.discard(done)
                    yield done.result()
            for done in as_completed(pending):
                yield done.result()
        finally:  # the caller stopped early (a refusal): start no bin not yet begun
            pool.shutdown(wait=True, cancel_futures=True)


def _reason_chunk(index: int, root: str, out: str | None = None,
                  loader: str = "kg.sources:load") -> BinResult:
    """Load one chunk of a release in the worker and reason it as one bin (nodes hashed)."""
    from importlib import import_module

    module, name = loader.split(":")
    with cyclic_gc_paused():  # loading and reasoning make millions of acyclic objects
        sources = getattr(import_module(module), name)(Path(root))
        start = time.perf_counter()
        base = logical_part(sources.triples)
        del sources
        result = reason_bin(index, base, Path(out) / f"bin-{index}.nt" if out else None,
                            with_nodes=True)
    result.seconds += time.perf_counter() - start
    return result


@dataclass
class StreamedClosure:
    """The figures of a streamed closure, whose triples are in files, one per bin."""

    chunks: int
    shared_triples: int
    core_triples: int
    inferred: int
    bin_seconds: list
    files: list


def closure_streamed(roots: list[Path], out: Path, engine: str = DEFAULT_ENGINE,
                     workers: int = DEFAULT_WORKERS, loader: str = "kg.sources:load"
                     ) -> StreamedClosure:
    """Reason a release stored as several project roots (chunks) without ever loading it whole.

    The first chunk gives the TBox, the shared terms and the core (`partition`); every chunk,
    the first included, is then loaded and reasoned in a worker as one bin, whose own inferred
    triples are written to `out/bin-<i>.nt` (the shared part's to `out/shared.nt`). The core
    holds every component of the first chunk that a shared individual walks into, and its
    nodes count as shared terms in every chunk, under the same checks. Chunks are not cut from
    one graph, so the workers hash their other nodes and the union is refused if two chunks
    share one, besides every check of `reason_bins`.
    """
    from importlib import import_module

    module, name = loader.split(":")
    first = logical_part(getattr(import_module(module), name)(Path(roots[0])).triples)
    cut = partition(first, engine, bin_triples=len(first) + 1, open_ended=True)
    del first
    part = cut.tbox | cut.core
    out.mkdir(parents=True, exist_ok=True)
    seconds, files, inferred = [], [], 0
    bins = {i: str(root) for i, root in enumerate(roots)}
    for outcome in reason_bins(part, bins, cut.bin_shared(), engine, workers, _reason_chunk,
                               out=str(out), loader=loader):
        if outcome.index == -1:
            _write_ntriples(outcome.inferred, out / "shared.nt")
            inferred += outcome.written
            files.append(out / "shared.nt")
            continue
        seconds.append(round(outcome.seconds, 2))
    files += [out / f"bin-{i}.nt" for i in bins]
    inferred += sum(_count_lines(f) for f in files[1:])
    return StreamedClosure(chunks=len(roots), shared_triples=len(part),
                           core_triples=len(cut.core), inferred=inferred, bin_seconds=seconds,
                           files=files)


def _count_lines(path: Path) -> int:
    """The number of lines of a file (one triple a line in N-Triples)."""
    with path.open("rb") as fh:
        return sum(1 for _ in fh)
