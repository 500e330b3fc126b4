"""Graphs as plain sets of triples, and the views of them the pipeline needs.

rdflib's default in-memory store keeps per-context bookkeeping and fires an event for every
added triple, which made building graphs the largest cost of a build. The pipeline holds each
graph as a set of rdflib-term triples instead and, where a library wants an rdflib Graph
(pySHACL, the JSON-LD serialiser, rdflib's canonical blank-node labelling), hands it a Graph
over `IndexedStore`, an rdflib Store (the plugin interface rdflib documents for other
back-ends) built from plain dictionaries. N-Triples lines are written from the triples
directly, as rdflib's serialiser writes them.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable, Iterator

from rdflib import RDF, BNode, Graph, Literal, URIRef
from rdflib.compare import _TripleCanonicalizer
from rdflib.paths import Path
from rdflib.plugins.serializers.nt import _quoteLiteral
from rdflib.store import Store
from rdflib.term import Node

Triple = tuple[Node, Node, Node]
_NO_CONTEXTS: tuple = ()


def nt_lines(triples: Iterable[Triple]) -> set[bytes]:
    """Render triples as N-Triples lines (without newline), exactly as rdflib's serialiser does.

    rdflib's N-Triples serialiser writes `_nt_row(triple)` for every triple: each IRI and blank
    node as its `n3()` (which checks the IRI again every time) and each literal quoted by
    `_quoteLiteral`. The same, with the text of each IRI and blank node worked out once.
    """
    return set(nt_line_map(triples).values())


def nt_line_map(triples: Iterable[Triple]) -> dict[Triple, bytes]:
    """Each triple's N-Triples line (as `nt_lines` writes it), for callers that need a subset's.

    The build writes the asserted graph and hashes its logical part: both from one rendering.
    """
    texts: dict[Node, str] = {}

    def n3(term: Node) -> str:
        """The N-Triples text of an IRI or blank node, made once per term."""
        text = texts.get(term)
        if text is None:
            text = texts[term] = term.n3()
        return text

    lines = {}
    for triple in triples:
        subject, predicate, obj = triple
        last = _quoteLiteral(obj) if isinstance(obj, Literal) else n3(obj)
        lines[triple] = f"{n3(subject)} {n3(predicate)} {last} .".encode()
    return lines


def nt_document(lines: Iterable[bytes]) -> bytes:
    """Join N-Triples lines sorted and without duplicates: the canonical form that diffs cleanly."""
    return b"".join(line + b"\n" for line in sorted(set(lines)) if line.strip())


def parse_ntriples(document: bytes, held: dict[Node, Node] | None = None) -> set[Triple]:
    """Read canonical N-Triples as `nt_lines` writes them back into rdflib-term triples.

    A line of three IRIs or blank nodes (most lines) is split directly; any other line goes
    to rdflib's N-Triples parser. Terms equal to one in `held` are replaced by it, so that
    later set operations find them by identity rather than by rdflib's Python-level `__eq__`.
    """
    from rdflib.plugins.parsers.ntriples import W3CNTriplesParser

    keep = (held if held is not None else {}).setdefault
    memo: dict[bytes, Node] = {}  # each term's text is read once, however often it appears

    def term(text: bytes) -> Node | None:
        """The term of an IRI or blank node text, or None for anything else (a literal)."""
        found = memo.get(text)
        if found is None and _plain_term(text):
            found = memo[text] = keep(made := _term(text), made)
        return found

    found: set[Triple] = set()
    others: list[bytes] = []
    for line in document.splitlines():
        parts = line.split(b" ")
        if len(parts) == 4 and parts[3] == b"." and b"\\" not in line:
            triple = (term(parts[0]), term(parts[1]), term(parts[2]))
            if triple[0] is not None and triple[1] is not None and triple[2] is not None:
                found.add(triple)
                continue
        if line.strip():
            others.append(line)
    if others:
        sink = _Sink(found, keep)
        W3CNTriplesParser(sink).parse(io.BytesIO(b"\n".join(others) + b"\n"))
    return found


def _plain_term(text: bytes) -> bool:
    """Tell whether an N-Triples term is an IRI or a blank node label."""
    return (text.startswith(b"<") and text.endswith(b">")) or text.startswith(b"_:")


def _term(text: bytes) -> Node:
    """Make the rdflib term of an IRI (`<...>`) or blank node (`_:label`)."""
    value = text.decode("utf-8")
    return BNode(value[2:]) if value.startswith("_:") else URIRef(value[1:-1])


class _Sink:
    """Collects the triples rdflib's N-Triples parser reads, with their terms held."""

    def __init__(self, found: set[Triple], keep) -> None:
        self.found = found
        self.keep = keep

    def triple(self, subject: Node, predicate: Node, obj: Node) -> None:
        """Take one parsed triple."""
        self.found.add((self.keep(subject, subject), self.keep(predicate, predicate),
                        self.keep(obj, obj)))


#: A backslash escape in the local part of a prefixed name (Turtle's PN_LOCAL_ESC).
_LOCAL_ESCAPE = rb"\\[_~.\-!$&'()*+,;=/?#@%]"


def full_iris_for_escaped_names(turtle: bytes, prefixes: dict[str, str]) -> bytes:
    """Write each prefixed name that holds a backslash escape as its full IRI instead.

    Writers escape characters such as `/` in a local name (`cytokg:releases\\/0.1.0`): legal
    Turtle, but the OWL API's parser (and so Protege) and others reject it. A term in a writer's
    output stands after white space (or after `^^`, as a datatype) and before white space. In a
    literal a backslash is followed by another backslash, a quote or a letter, never by the
    punctuation these escapes use, so no text inside a literal can match.
    """
    if b"\\" not in turtle or not prefixes:
        return turtle
    names = b"|".join(re.escape(p.encode()) for p in sorted(prefixes, key=len, reverse=True))
    pattern = re.compile(rb"(?:(?<=\s)|(?<=\^\^)|^)(" + names + rb"):((?:[^\s\\]|"
                         + _LOCAL_ESCAPE + rb")+)(?=\s|$)", re.MULTILINE)
    spaces = {p.encode(): ns.encode() for p, ns in prefixes.items()}

    def in_full(match: re.Match) -> bytes:
        """The full IRI of an escaped prefixed name; a plain one stays as it is."""
        local = match.group(2)
        if b"\\" not in local:
            return match.group(0)
        return b"<" + spaces[match.group(1)] + re.sub(rb"\\(.)", rb"\1", local) + b">"

    return pattern.sub(in_full, turtle)


def canonical_labels(triples: Iterable[Triple]) -> dict[BNode, BNode]:
    """Map each blank node to the label rdflib's `to_canonical_graph` would give it.

    The labels depend only on the triples that hold a blank node, and the algorithm looks each
    neighbour up many times: run it on those triples alone, over a fast index. rdflib's
    canonicaliser relabels the triples in the order it reads them, so reading the same graph
    beside it pairs every triple with its relabelled self.
    """
    graph = graph_over(t for t in triples if isinstance(t[0], BNode) or isinstance(t[2], BNode))
    labels: dict[BNode, BNode] = {}
    relabelled = _TripleCanonicalizer(graph).canonical_triples()
    for before, after in zip(graph, relabelled, strict=True):
        for old, new in zip(before, after, strict=True):
            if isinstance(old, BNode):
                labels[old] = new
    return labels


def relabel(triple: Triple, labels: dict[BNode, BNode]) -> Triple:
    """Give a triple's blank nodes their labels from `canonical_labels`."""
    subject, predicate, obj = triple
    return (labels.get(subject, subject) if isinstance(subject, BNode) else subject, predicate,
            labels.get(obj, obj) if isinstance(obj, BNode) else obj)


def graph_over(triples: Iterable[Triple], prefixes: dict[str, str] | None = None,
               defaults: str = "none") -> Graph:
    """Make an rdflib Graph over an IndexedStore holding the triples, with our prefixes bound.

    `defaults` names the prefixes rdflib binds first ("none", "core" or "rdflib").
    """
    store = IndexedStore(triples)
    graph = store.owner = IndexedGraph(store=store, bind_namespaces=defaults)
    for prefix, namespace in (prefixes or {}).items():
        graph.bind(prefix, namespace, override=True, replace=True)
    return graph


class IndexedGraph(Graph):
    """A Graph that answers triple patterns straight from its IndexedStore's dictionaries.

    rdflib's Graph reaches a store through layers of generators for every pattern; the JSON-LD
    serialiser and pySHACL ask for hundreds of thousands of small patterns. Patterns these
    methods do not speed up (property paths, lists of terms, `unique`) go to rdflib's own.
    """

    def triples(self, triple: tuple) -> Iterator:
        """Yield the triples matching a pattern (a property path is evaluated as rdflib does)."""
        subject, predicate, obj = triple
        if isinstance(predicate, Path):
            return super().triples(triple)
        return self.store.match(subject, predicate, obj)

    def objects(self, subject: Node | None = None, predicate: Node | None = None,
                unique: bool = False) -> Iterator[Node]:
        """Yield the objects of (subject, predicate), looked up directly; else as rdflib does."""
        if (subject is None or predicate is None or unique or isinstance(subject, list)
                or isinstance(predicate, Path)):
            return super().objects(subject, predicate, unique)
        return iter(self.store.objects_of(subject, predicate))

    def subjects(self, predicate: Node | None = None, object: Node | None = None,
                 unique: bool = False) -> Iterator[Node]:
        """Yield the subjects of (predicate, object), looked up directly; else as rdflib does."""
        if (predicate is None or object is None or unique or isinstance(object, list)
                or isinstance(predicate, Path)):
            return super().subjects(predicate, object, unique)
        return iter(self.store.subjects_of(predicate, object))

    def value(self, subject: Node | None = None, predicate: Node | None = RDF.value,
              object: Node | None = None, default: Node | None = None,
              any: bool = True) -> Node | None:
        """Return one object of (subject, predicate), looked up directly; else as rdflib does."""
        if subject is None or predicate is None or object is not None or not any:
            return super().value(subject, predicate, object, default, any)
        return self.store.first_object(subject, predicate, default)


class IndexedStore(Store):
    """A single-graph rdflib Store over dictionaries, by subject (by predicate, object on demand).

    It answers any context with the one graph it holds (`owner`, the Graph made over it), so
    pySHACL, which wraps its data graph in a Dataset and therefore asks for a context-aware
    store, can read it in place and find the graph a node is in.
    """

    context_aware = True
    graph_aware = True
    formula_aware = False
    transaction_aware = False

    def __init__(self, triples: Iterable[Triple] = ()) -> None:
        super().__init__()
        self._spo: dict = {}
        self._pos: dict | None = None
        self._osp: dict | None = None
        self._size = 0
        self._prefixes: dict[str, URIRef] = {}
        self.owner: Graph | None = None
        for triple in triples:
            self._insert(triple)

    def _insert(self, triple: Triple) -> bool:
        """Add a triple to the subject index, telling whether it was new."""
        subject, predicate, obj = triple
        by_predicate = self._spo.get(subject)
        if by_predicate is None:
            by_predicate = self._spo[subject] = {}
        objects = by_predicate.get(predicate)
        if objects is None:
            objects = by_predicate[predicate] = set()
        if obj in objects:
            return False
        objects.add(obj)
        self._size += 1
        return True

    def _predicate_index(self) -> dict:
        """Index predicate -> object -> subjects, built on first use."""
        if self._pos is None:
            pos: dict = {}
            for subject, by_predicate in self._spo.items():
                for predicate, objects in by_predicate.items():
                    by_object = pos.setdefault(predicate, {})
                    for obj in objects:
                        by_object.setdefault(obj, set()).add(subject)
            self._pos = pos
        return self._pos

    def _object_index(self) -> dict:
        """Index object -> subject -> predicates, built on first use."""
        if self._osp is None:
            osp: dict = {}
            for subject, by_predicate in self._spo.items():
                for predicate, objects in by_predicate.items():
                    for obj in objects:
                        osp.setdefault(obj, {}).setdefault(subject, set()).add(predicate)
            self._osp = osp
        return self._osp

    def add(self, triple: Triple, context: object = None, quoted: bool = False) -> None:
        """Add a triple, keeping the secondary indexes (if built) in step."""
        if not self._insert(triple):
            return
        subject, predicate, obj = triple
        if self._pos is not None:
            self._pos.setdefault(predicate, {}).setdefault(obj, set()).add(subject)
        if self._osp is not None:
            self._osp.setdefault(obj, {}).setdefault(subject, set()).add(predicate)

    def remove(self, pattern: tuple, context: object = None) -> None:
        """Remove every triple matching the pattern."""
        for subject, predicate, obj in list(self.match(*pattern)):
            self._spo[subject][predicate].discard(obj)
            self._size -= 1
            if self._pos is not None:
                self._pos[predicate][obj].discard(subject)
            if self._osp is not None:
                self._osp[obj][subject].discard(predicate)

    def __len__(self, context: object = None) -> int:
        """Count the triples."""
        return self._size

    def contexts(self, triple: Triple | None = None) -> Iterator[Graph]:
        """The one graph the store holds, if a Graph has been made over it."""
        return iter(self._contexts())

    def _contexts(self) -> tuple:
        """The graphs every triple belongs to: the owner, if any."""
        return _NO_CONTEXTS if self.owner is None else (self.owner,)

    def add_graph(self, graph: Graph) -> None:
        """Accept the default graph a Dataset wrapper declares (there is only one graph)."""

    def triples(self, pattern: tuple, context: object = None) -> Iterator[tuple[Triple, Iterator]]:
        """Yield the triples matching a pattern, choosing the index its bound terms select."""
        contexts = self._contexts()
        for triple in self.match(*pattern):
            yield triple, iter(contexts)

    def objects_of(self, subject: Node, predicate: Node) -> list[Node]:
        """The objects of (subject, predicate), in the order `match` yields them."""
        return list(self._spo.get(subject, {}).get(predicate, ()))

    def subjects_of(self, predicate: Node, obj: Node) -> list[Node]:
        """The subjects of (predicate, object), in the order `match` yields them."""
        return list(self._predicate_index().get(predicate, {}).get(obj, ()))

    def first_object(self, subject: Node, predicate: Node, default: Node | None) -> Node | None:
        """The first object of (subject, predicate) that `match` would yield, or `default`."""
        objects = self._spo.get(subject, {}).get(predicate)
        return next(iter(objects), default) if objects else default

    def match(self, subject: Node | None, predicate: Node | None,
              obj: Node | None) -> Iterator[Triple]:
        """Yield the triples matching (subject, predicate, object), None being a wildcard."""
        if subject is not None:
            by_predicate = self._spo.get(subject)
            if not by_predicate:
                return
            pairs = ([(predicate, by_predicate.get(predicate, ()))] if predicate is not None
                     else list(by_predicate.items()))
            for pred, objects in pairs:
                if obj is not None:
                    if obj in objects:
                        yield subject, pred, obj
                else:
                    for value in list(objects):
                        yield subject, pred, value
        elif predicate is not None:
            by_object = self._predicate_index().get(predicate)
            if not by_object:
                return
            if obj is not None:
                for value in list(by_object.get(obj, ())):
                    yield value, predicate, obj
            else:
                for value, subjects in list(by_object.items()):
                    for subj in list(subjects):
                        yield subj, predicate, value
        elif obj is not None:
            for subj, predicates in list(self._object_index().get(obj, {}).items()):
                for pred in list(predicates):
                    yield subj, pred, obj
        else:
            for subj, by_predicate in list(self._spo.items()):
                for pred, objects in list(by_predicate.items()):
                    for value in list(objects):
                        yield subj, pred, value

    def bind(self, prefix: str, namespace: URIRef, override: bool = True) -> None:
        """Bind a prefix (one namespace per prefix and one prefix per namespace)."""
        bound = self._prefixes.get(prefix)
        if not override and (bound is not None or namespace in self._prefixes.values()):
            return
        for other, existing in list(self._prefixes.items()):
            if existing == namespace:
                del self._prefixes[other]
        self._prefixes[prefix] = namespace

    def namespace(self, prefix: str) -> URIRef | None:
        """The namespace bound to a prefix."""
        return self._prefixes.get(prefix)

    def prefix(self, namespace: URIRef) -> str | None:
        """The prefix bound to a namespace."""
        return next((p for p, ns in self._prefixes.items() if ns == namespace), None)

    def namespaces(self) -> Iterator[tuple[str, URIRef]]:
        """Every bound prefix with its namespace."""
        yield from list(self._prefixes.items())
