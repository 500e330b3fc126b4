"""The rdflib engine: an in-memory rdflib Dataset, slow and pure Python, kept for comparison.

Graph answers are written by rdflib's own serialisers (Turtle, JSON-LD, N-Triples,
RDF/XML); ASK and SELECT answers by the shared writers of :mod:`kg.results`.  rdflib's
SPARQL modules are imported only when an engine is built or an answer written.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from itertools import islice
from pathlib import Path

from kg.engines.base import QueryEngine, QuerySyntaxError
from kg.results import (
    PREFIXES,
    SAME_BYTES_AS,
    XSD_STRING,
    BindingsResult,
    BooleanResult,
    QueryResult,
    ResultKind,
    Serialized,
    Term,
    turtle_from_ntriples,
)


def _rdflib_term(t: object) -> Term:
    """Convert an rdflib term to a neutral Term, so the shared writers can use it."""
    from rdflib import BNode, Literal, URIRef

    if isinstance(t, URIRef):
        return Term("uri", str(t))
    if isinstance(t, BNode):
        return Term("bnode", str(t))
    if isinstance(t, Literal):
        if t.language:
            return Term("literal", str(t), None, t.language)
        return Term("literal", str(t), str(t.datatype) if t.datatype else XSD_STRING)
    raise TypeError(f"unexpected term {t!r}")


def _has_service(algebra: object) -> bool:
    """Defence in depth: find a SERVICE pattern anywhere in rdflib's algebra tree."""
    from rdflib.plugins.sparql.algebra import traverse
    from rdflib.plugins.sparql.parserutils import CompValue

    found = False

    def visit(node: object) -> None:
        nonlocal found
        if isinstance(node, CompValue) and node.name == "ServiceGraphPattern":
            found = True

    traverse(algebra, visitPost=visit)
    return found


_RDFLIB_FORMATS = {"turtle": "turtle", "jsonld": "json-ld", "nt": "nt", "rdfxml": "xml"}


class RdflibGraphResult(QueryResult):
    """CONSTRUCT/DESCRIBE answer written by rdflib's serialisers."""

    kind: ResultKind = "graph"

    def __init__(self, triples: Iterable[tuple[object, object, object]]) -> None:
        """Keep the triples as a lazy iterator, so a capped answer reads no further."""
        self.triples = iter(triples)

    def serialize(self, fmt: str, limit: int | None = None) -> Serialized:
        """Write at most ``limit`` triples with rdflib."""
        from rdflib import Graph

        fmt = SAME_BYTES_AS.get(fmt, fmt)
        if fmt not in _RDFLIB_FORMATS:
            raise ValueError(f"format {fmt!r} cannot carry a graph result")
        triples = list(self.triples if limit is None else islice(self.triples, limit + 1))
        truncated = limit is not None and len(triples) > limit
        if truncated:
            triples = triples[:limit]
        g = Graph()
        for prefix, ns in PREFIXES.items():
            g.bind(prefix, ns, override=True)
        for triple in triples:
            g.add(triple)  # type: ignore[arg-type]
        if fmt == "turtle":  # our writer: no escapes in prefixed names
            body = turtle_from_ntriples(g.serialize(format="nt", encoding="utf-8"), PREFIXES)
        else:
            body = g.serialize(format=_RDFLIB_FORMATS[fmt], encoding="utf-8")
        return Serialized(body, len(triples), truncated)


class RdflibEngine(QueryEngine):
    """Comparison engine: an rdflib in-memory Dataset (slow, pure Python)."""

    name = "rdflib"

    def __init__(self, files: dict[str, Path]) -> None:
        """Parse each N-Triples file into its named graph; never fetch graphs named in FROM."""
        import rdflib.plugins.sparql as rdflib_sparql
        from rdflib import Dataset, Graph, URIRef

        rdflib_sparql.SPARQL_LOAD_GRAPHS = False
        self._graphs = tuple(files)
        self._parts: dict[str, Graph] = {}
        for graph, path in files.items():
            g = Graph(identifier=URIRef(graph))
            g.parse(str(path), format="nt")
            self._parts[graph] = g
        self._Dataset = Dataset
        self._cache: dict[tuple[tuple[str, ...], tuple[str, ...]], object] = {}

    @property
    def graphs(self) -> tuple[str, ...]:
        """Named graph IRIs held, in release order."""
        return self._graphs

    def count(self, graph: str | None = None) -> int:
        """Triples in ``graph``, or the sum over all graphs."""
        if graph is None:
            return sum(len(g) for g in self._parts.values())
        return len(self._parts[graph]) if graph in self._parts else 0

    def _dataset(self, default: tuple[str, ...], named: tuple[str, ...]) -> object:
        """Build (once per combination) a Dataset whose default graph merges ``default``."""
        key = (default, named)
        if key not in self._cache:
            from rdflib import URIRef
            from rdflib.graph import DATASET_DEFAULT_GRAPH_ID

            ds = self._Dataset(default_union=False)
            default_graph = ds.graph(DATASET_DEFAULT_GRAPH_ID)
            for g in default:
                for triple in self._parts[g]:
                    default_graph.add(triple)
            for g in named:
                target = ds.graph(URIRef(g))
                for triple in self._parts[g]:
                    target.add(triple)
            self._cache[key] = ds
        return self._cache[key]

    def query(
        self,
        sparql: str,
        *,
        default_graphs: Sequence[str] | None = None,
        named_graphs: Sequence[str] | None = None,
    ) -> QueryResult:
        """Evaluate with rdflib after dropping the query's own dataset clause."""
        from rdflib.plugins.sparql.algebra import translateQuery
        from rdflib.plugins.sparql.evaluate import evalQuery
        from rdflib.plugins.sparql.parser import parseQuery
        from rdflib.plugins.sparql.processor import SPARQLResult

        default = tuple(self._graphs if default_graphs is None else default_graphs)
        named = tuple(self._graphs if named_graphs is None else named_graphs)
        try:
            parsed = translateQuery(parseQuery(sparql))
        except Exception as exc:  # pyparsing errors carry line/column in their text
            raise QuerySyntaxError(str(exc)) from None
        if _has_service(parsed.algebra):
            raise QuerySyntaxError("SERVICE is not allowed")
        parsed.algebra["datasetClause"] = None  # the caller's dataset replaces FROM / FROM NAMED
        ds = self._dataset(default, named)
        result = SPARQLResult(evalQuery(ds, parsed, {}, None))  # type: ignore[arg-type]
        if result.type == "ASK":
            return BooleanResult(bool(result.askAnswer))
        if result.type == "SELECT":
            variables = [str(v) for v in result.vars or []]

            def rows() -> Iterator[tuple[Term | None, ...]]:
                for row in result.bindings:
                    yield tuple(
                        None if (t := row.get(v)) is None else _rdflib_term(t)
                        for v in result.vars or []
                    )

            return BindingsResult(variables, rows())
        return RdflibGraphResult(result.graph or [])  # type: ignore[arg-type]
