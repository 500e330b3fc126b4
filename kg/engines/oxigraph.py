"""The pyoxigraph engines (default in-memory store, and on-disk RocksDB) and their writers.

Answers are written by pyoxigraph's native serialisers under a row cap: SELECT answers
as SPARQL 1.1 TSV results (https://www.w3.org/TR/sparql11-results-csv-tsv/), graphs as
N-Triples (https://www.w3.org/TR/n-triples/), re-parsed into the asked format when it
differs.  pyoxigraph is imported only when an engine is built or an answer written.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from kg.engines.base import QueryEngine, QuerySyntaxError
from kg.results import (
    PREFIXES,
    SAME_BYTES_AS,
    BindingsResult,
    BooleanResult,
    QueryResult,
    ResultKind,
    Serialized,
    Term,
    turtle_from_ntriples,
)

if TYPE_CHECKING:
    import pyoxigraph


def _ox_term(t: object) -> Term:
    """Convert a pyoxigraph term to a neutral Term, so the shared writers can use it."""
    import pyoxigraph as ox

    if isinstance(t, ox.NamedNode):
        return Term("uri", t.value)
    if isinstance(t, ox.BlankNode):
        return Term("bnode", t.value)
    if isinstance(t, ox.Literal):
        lang = t.language
        return Term("literal", t.value, None if lang else t.datatype.value, lang)
    if isinstance(t, ox.Triple):
        return Term(
            "triple",
            str(t),
            triple=(_ox_term(t.subject), _ox_term(t.predicate), _ox_term(t.object)),
        )
    raise TypeError(f"unexpected term {t!r}")


# --------------------------------------------------------------------------- capped writing


class _Enough(Exception):
    """Raised from a writer to stop a native serialiser once the row limit is passed."""


class _LineCapWriter:
    """Binary sink that stops a native serialiser after ``header + limit + 1`` lines."""

    def __init__(self, limit: int | None, header_lines: int) -> None:
        """Collect bytes; ``limit`` None means no cap."""
        self.buf = bytearray()
        self.lines = 0
        self.cap = None if limit is None else header_lines + limit + 1
        self.overflow = False

    def write(self, data: bytes) -> int:
        """Append and count lines; abort once a row beyond the limit is complete."""
        self.buf += data
        if self.cap is not None:
            self.lines += data.count(b"\n")
            if self.lines >= self.cap:
                self.overflow = True
                raise _Enough
        return len(data)

    def flush(self) -> None:
        """Nothing to flush; present for file-like callers."""


def _capped(serialize: object, limit: int | None, header_lines: int) -> tuple[bytes, int, bool]:
    """Run a line-oriented native serialiser (TSV, N-Triples) under a row cap.

    Returns the first ``limit`` rows (with header), the row count and whether more existed.
    Serialising natively to a line format and re-parsing is several times faster than
    converting every term to Python objects.
    """
    writer = _LineCapWriter(limit, header_lines)
    try:
        serialize(writer)  # type: ignore[operator]
    except SyntaxError as exc:
        raise QuerySyntaxError(str(exc)) from None
    except Exception:
        if not writer.overflow:
            raise
    lines = bytes(writer.buf).split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    rows = lines[header_lines:]
    truncated = writer.overflow or (limit is not None and len(rows) > limit)
    if limit is not None:
        rows = rows[:limit]
    body = b"".join(line + b"\n" for line in [*lines[:header_lines], *rows])
    return body, len(rows), truncated


@dataclass(frozen=True, slots=True)
class _Native:
    """What differs between writing a SELECT answer and a graph, so one path serves both."""

    what: str  # the answer kind named when a format cannot carry it
    formats: dict[str, str]  # our format name -> pyoxigraph format member name
    lines: str  # the native line format written under the cap (no re-parse needed)
    header_lines: int  # lines before the first row


_SELECT = _Native("SELECT", {"json": "JSON", "xml": "XML", "csv": "CSV", "tsv": "TSV"}, "tsv", 1)
_GRAPH = _Native(
    "graph",
    {"turtle": "TURTLE", "jsonld": "JSON_LD", "nt": "N_TRIPLES", "rdfxml": "RDF_XML"},
    "nt",
    0,
)


def _write_capped(
    native: _Native,
    fmt: str,
    limit: int | None,
    write: Callable[[_LineCapWriter], object],
    reparse: Callable[[bytes, str], bytes],
) -> Serialized:
    """Write at most ``limit`` rows in the native line format, re-parsed into ``fmt`` if needed."""
    if fmt not in native.formats:
        raise ValueError(f"format {fmt!r} cannot carry a {native.what} result")
    body, count, truncated = _capped(write, limit, native.header_lines)
    if fmt != native.lines:
        body = reparse(body, native.formats[fmt])
    return Serialized(body, count, truncated)


# --------------------------------------------------------------------------- results


class OxigraphBindingsResult(BindingsResult):
    """SELECT answer; ``serialize`` uses pyoxigraph's native writers, ``take`` neutral rows."""

    def __init__(self, solutions: object) -> None:
        """Keep the lazy solution iterator (consumed once, by ``take`` or ``serialize``)."""
        variables = [v.value for v in solutions.variables]  # type: ignore[attr-defined]
        width = range(len(variables))

        def rows() -> Iterator[tuple[Term | None, ...]]:
            for sol in solutions:  # type: ignore[attr-defined]
                yield tuple(None if (t := sol[i]) is None else _ox_term(t) for i in width)

        super().__init__(variables, rows())
        self.solutions = solutions

    def serialize(self, fmt: str, limit: int | None = None) -> Serialized:
        """Write at most ``limit`` rows: capped native TSV, re-parsed into ``fmt`` if needed."""
        import pyoxigraph as ox

        tsv = ox.QueryResultsFormat.TSV

        def reparse(body: bytes, target: str) -> bytes:
            results = ox.parse_query_results(body, format=tsv)
            return results.serialize(format=getattr(ox.QueryResultsFormat, target)) or b""

        return _write_capped(
            _SELECT,
            fmt,
            limit,
            lambda w: self.solutions.serialize(w, format=tsv),  # type: ignore[attr-defined]
            reparse,
        )


class OxigraphGraphResult(QueryResult):
    """CONSTRUCT/DESCRIBE answer written by pyoxigraph's native serialisers."""

    kind: ResultKind = "graph"

    def __init__(self, triples: object) -> None:
        """Keep the lazy triple iterator (consumed once)."""
        self.triples = triples

    def serialize(self, fmt: str, limit: int | None = None) -> Serialized:
        """Write at most ``limit`` triples: capped native N-Triples, re-parsed if needed."""
        import pyoxigraph as ox

        nt = ox.RdfFormat.N_TRIPLES

        def reparse(body: bytes, target: str) -> bytes:
            if target == "TURTLE":  # our writer: no escapes in prefixed names
                return turtle_from_ntriples(body, PREFIXES)
            prefixes = PREFIXES if target == "RDF_XML" else None
            triples = ox.parse(body, format=nt)
            rdf_format = getattr(ox.RdfFormat, target)
            return ox.serialize(triples, format=rdf_format, prefixes=prefixes) or b""

        return _write_capped(
            _GRAPH,
            SAME_BYTES_AS.get(fmt, fmt),
            limit,
            lambda w: self.triples.serialize(w, format=nt),  # type: ignore[attr-defined]
            reparse,
        )


# --------------------------------------------------------------------------- engines


def _bulk_load(store: pyoxigraph.Store, files: dict[str, Path]) -> dict[str, int]:
    """Load each N-Triples file into its named graph and count it, for both engines."""
    import pyoxigraph as ox

    counts: dict[str, int] = {}
    for graph, path in files.items():
        node = ox.NamedNode(graph)
        store.bulk_load(path=str(path), format=ox.RdfFormat.N_TRIPLES, to_graph=node)
        counts[graph] = sum(1 for _ in store.quads_for_pattern(None, None, None, node))
    return counts


class OxigraphEngine(QueryEngine):
    """Default engine: a pyoxigraph in-memory store, fast and pure-Rust."""

    name = "oxigraph"

    def __init__(self, files: dict[str, Path]) -> None:
        """Load each N-Triples file into its named graph."""
        import pyoxigraph as ox

        self._ox = ox
        self.store = ox.Store()
        self._graphs = tuple(files)
        self._default_nodes = [ox.NamedNode(g) for g in self._graphs]
        self._counts: dict[str, int] = _bulk_load(self.store, files)

    @property
    def graphs(self) -> tuple[str, ...]:
        """Named graph IRIs held, in release order."""
        return self._graphs

    def count(self, graph: str | None = None) -> int:
        """Triples in ``graph``, or the sum over all graphs (counted once, at load)."""
        if graph is None:
            return sum(self._counts.values())
        return self._counts.get(graph, 0)

    def query(
        self,
        sparql: str,
        *,
        default_graphs: Sequence[str] | None = None,
        named_graphs: Sequence[str] | None = None,
    ) -> QueryResult:
        """Evaluate over our graphs only (the protocol's or FROM's dataset when one is given)."""
        ox = self._ox
        try:
            if default_graphs is None and named_graphs is None:
                # The store holds our graphs and nothing else (each file in its named graph,
                # the unnamed graph empty), so the default dataset is the whole store: Oxigraph
                # answers that from its union view, about 1.7x faster than from a list of graphs,
                # with the same rows (neither form removes a triple held in two graphs).
                result = self.store.query(sparql, use_default_graph_as_union=True)
            else:
                nodes = self._default_nodes
                default = (nodes if default_graphs is None
                           else [ox.NamedNode(g) for g in default_graphs])
                named = nodes if named_graphs is None else [ox.NamedNode(g) for g in named_graphs]
                result = self.store.query(sparql, default_graph=default, named_graphs=named)
        except SyntaxError as exc:
            raise QuerySyntaxError(str(exc)) from None
        if isinstance(result, ox.QueryBoolean):
            return BooleanResult(bool(result))
        if isinstance(result, ox.QuerySolutions):
            return OxigraphBindingsResult(result)
        return OxigraphGraphResult(result)


class OxigraphDiskEngine(OxigraphEngine):
    """An on-disk pyoxigraph (RocksDB) store, so graphs larger than memory can be served.

    The release is bulk-loaded once into ``path`` (skipped when the directory already holds
    the same release); every process then opens it read-only on first use, because a
    RocksDB handle must not cross a fork.
    """

    name = "oxigraph-disk"
    MARKER = "cytokg-release.json"

    def __init__(self, files: dict[str, Path], path: Path, release_id: str = "") -> None:
        """Load the release into ``path`` unless it already holds this release."""
        import os

        import pyoxigraph as ox

        self._ox = ox
        self.path = Path(path)
        self._graphs = tuple(files)
        self._default_nodes = [ox.NamedNode(g) for g in self._graphs]
        marker = self.path / self.MARKER
        stamp = {"release": release_id, "graphs": {g: str(p) for g, p in files.items()}}
        known = json.loads(marker.read_text(encoding="utf-8")) if marker.is_file() else None
        if known is None or known.get("stamp") != stamp or not release_id:
            self.path.mkdir(parents=True, exist_ok=True)
            marker.unlink(missing_ok=True)
            store = ox.Store(str(self.path))
            store.clear()
            counts = _bulk_load(store, files)
            store.flush()
            store.optimize()
            del store  # release the RocksDB write lock before read-only handles open
            marker.write_text(json.dumps({"stamp": stamp, "counts": counts}), encoding="utf-8")
            known = {"counts": counts}
        self._counts = dict(known["counts"])
        self._pid = -1
        self._handle: object = None
        self._getpid = os.getpid

    @property
    def store(self) -> object:  # type: ignore[override]
        """This process's read-only handle, opened after any fork."""
        if self._pid != self._getpid():
            self._handle = self._ox.Store.read_only(str(self.path))
            self._pid = self._getpid()
        return self._handle
