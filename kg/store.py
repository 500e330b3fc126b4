"""Read-only query engines over a cytokg release, swappable behind one small interface.

The SPARQL endpoint (package ``server``) talks only to :class:`QueryEngine` and
:class:`QueryResult`; it never learns which library answers.  Two engines exist:
``oxigraph`` (default, pyoxigraph in-memory store) and ``rdflib`` (in-memory
Dataset, kept for comparison).  Both load the release's two N-Triples files into
named graphs and answer queries over an explicitly given dataset (default graphs
and named graphs); ``None`` means "all our graphs".
"""

from __future__ import annotations

import csv
import io
import json
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Literal
from xml.sax.saxutils import escape as xml_escape
from xml.sax.saxutils import quoteattr

from kg.vocab import ASSERTED_GRAPH, BASE, INFERRED_GRAPH

GRAPH_ASSERTED = str(ASSERTED_GRAPH)
GRAPH_INFERRED = str(INFERRED_GRAPH)
#: Named graph IRI -> release file that holds its triples (N-Triples).
GRAPH_FILES: dict[str, str] = {
    GRAPH_ASSERTED: "cytokg-asserted.nt",
    GRAPH_INFERRED: "cytokg-inferred.nt",
}
XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"
RDF_LANG_STRING = "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString"
#: Prefixes used when a graph serialisation supports them.
PREFIXES: dict[str, str] = {
    "cytokg": BASE,
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
    "owl": "http://www.w3.org/2002/07/owl#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
}

TABULAR_FORMATS = ("json", "xml", "csv", "tsv")
GRAPH_FORMATS = ("turtle", "jsonld", "nt", "rdfxml")
ResultKind = Literal["boolean", "bindings", "graph"]


class QuerySyntaxError(ValueError):
    """Raised for a malformed query so the endpoint can answer 400 rather than 500."""


@dataclass(frozen=True, slots=True)
class Term:
    """An engine-neutral RDF term so that tabular serialisers are shared by all engines."""

    kind: Literal["uri", "bnode", "literal", "triple"]
    value: str
    datatype: str | None = None
    lang: str | None = None
    triple: tuple[Term, Term, Term] | None = None


@dataclass(frozen=True, slots=True)
class Serialized:
    """Serialised result bytes plus the facts the endpoint reports in headers."""

    body: bytes
    count: int
    truncated: bool


class QueryResult(ABC):
    """The answer to one query; ``serialize`` is the per-engine serialisation hook."""

    kind: ResultKind

    @abstractmethod
    def serialize(self, fmt: str, limit: int | None = None) -> Serialized:
        """Write at most ``limit`` rows or triples in format ``fmt`` so big answers stay bounded."""


class QueryEngine(ABC):
    """A read-only SPARQL engine over our named graphs, so the store can be swapped."""

    name: str = "abstract"

    @property
    @abstractmethod
    def graphs(self) -> tuple[str, ...]:
        """Named graph IRIs held, so the endpoint can restrict datasets to them."""

    @abstractmethod
    def query(
        self,
        sparql: str,
        *,
        default_graphs: Sequence[str] | None = None,
        named_graphs: Sequence[str] | None = None,
    ) -> QueryResult:
        """Evaluate ``sparql`` over the given dataset (``None`` = all our graphs)."""

    @abstractmethod
    def count(self, graph: str | None = None) -> int:
        """Number of triples in one graph (or all), for health and service description."""


# --------------------------------------------------------------------------- tabular results


class BooleanResult(QueryResult):
    """ASK answer shared by every engine, since it needs no engine-specific writer."""

    kind: ResultKind = "boolean"

    def __init__(self, value: bool) -> None:
        """Keep the boolean."""
        self.value = value

    def serialize(self, fmt: str, limit: int | None = None) -> Serialized:
        """Write the ASK answer in a SPARQL results format."""
        return Serialized(write_boolean(self.value, fmt), 1, False)


class BindingsResult(QueryResult):
    """SELECT answer as neutral rows, so all engines share one set of tabular writers."""

    kind: ResultKind = "bindings"

    def __init__(self, variables: list[str], rows: Iterable[tuple[Term | None, ...]]) -> None:
        """Keep the variables and a lazy row iterator (consumed once)."""
        self.variables = variables
        self.rows = iter(rows)

    def take(self, limit: int | None) -> tuple[list[tuple[Term | None, ...]], bool]:
        """Materialise at most ``limit`` rows and tell whether more existed."""
        if limit is None:
            return list(self.rows), False
        rows = list(islice(self.rows, limit + 1))
        return rows[:limit], len(rows) > limit

    def serialize(self, fmt: str, limit: int | None = None) -> Serialized:
        """Write the (possibly truncated) table in a SPARQL results format."""
        rows, truncated = self.take(limit)
        return Serialized(write_bindings(self.variables, rows, fmt), len(rows), truncated)


def write_boolean(value: bool, fmt: str) -> bytes:
    """Serialise an ASK result; CSV/TSV use a one-cell table since the spec defines none."""
    if fmt == "json":
        return json.dumps({"head": {}, "boolean": value}).encode()
    if fmt == "xml":
        return (
            '<?xml version="1.0"?>\n<sparql xmlns="http://www.w3.org/2005/sparql-results#">'
            f"<head/><boolean>{'true' if value else 'false'}</boolean></sparql>\n"
        ).encode()
    if fmt == "csv":
        return f"_askResult\r\n{'true' if value else 'false'}\r\n".encode()
    if fmt == "tsv":
        return f"?_askResult\n{'true' if value else 'false'}\n".encode()
    raise ValueError(f"format {fmt!r} cannot carry a boolean result")


def _json_term(t: Term) -> dict[str, object]:
    """SPARQL 1.1 Query Results JSON, section 3.2.2, RDF term encoding."""
    if t.kind == "literal":
        d: dict[str, object] = {"type": "literal", "value": t.value}
        if t.lang:
            d["xml:lang"] = t.lang
        elif t.datatype and t.datatype != XSD_STRING:
            d["datatype"] = t.datatype
        return d
    if t.kind == "triple" and t.triple:
        s, p, o = t.triple
        return {
            "type": "triple",
            "value": {
                "subject": _json_term(s),
                "predicate": _json_term(p),
                "object": _json_term(o),
            },
        }
    return {"type": t.kind, "value": t.value}


def _xml_term(t: Term) -> str:
    """SPARQL Query Results XML, section 2.3.1, RDF term encoding."""
    if t.kind == "uri":
        return f"<uri>{xml_escape(t.value)}</uri>"
    if t.kind == "bnode":
        return f"<bnode>{xml_escape(t.value)}</bnode>"
    if t.kind == "triple" and t.triple:
        s, p, o = t.triple
        return (
            f"<triple><subject>{_xml_term(s)}</subject><predicate>{_xml_term(p)}</predicate>"
            f"<object>{_xml_term(o)}</object></triple>"
        )
    if t.lang:
        return f"<literal xml:lang={quoteattr(t.lang)}>{xml_escape(t.value)}</literal>"
    if t.datatype and t.datatype != XSD_STRING:
        return f"<literal datatype={quoteattr(t.datatype)}>{xml_escape(t.value)}</literal>"
    return f"<literal>{xml_escape(t.value)}</literal>"


def _nt_string(value: str) -> str:
    """Escape a lexical form as a quoted N-Triples/Turtle string (used by TSV)."""
    out = (
        value.replace("\\", "\\\\")
        .replace('"', '\\"')
        .replace("\n", "\\n")
        .replace("\r", "\\r")
        .replace("\t", "\\t")
    )
    return f'"{out}"'


def term_to_nt(t: Term) -> str:
    """RDF term in N-Triples/SPARQL syntax (SPARQL 1.1 TSV results, section 3)."""
    if t.kind == "uri":
        return f"<{t.value}>"
    if t.kind == "bnode":
        return f"_:{t.value}"
    if t.kind == "triple" and t.triple:
        return "<< " + " ".join(term_to_nt(x) for x in t.triple) + " >>"
    if t.lang:
        return f"{_nt_string(t.value)}@{t.lang}"
    if t.datatype and t.datatype != XSD_STRING:
        return f"{_nt_string(t.value)}^^<{t.datatype}>"
    return _nt_string(t.value)


def _csv_value(t: Term | None) -> str:
    """SPARQL 1.1 CSV results, section 2: IRIs bare, literals as lexical form, bnodes as _:x."""
    if t is None:
        return ""
    if t.kind == "bnode":
        return f"_:{t.value}"
    if t.kind == "triple":
        return term_to_nt(t)
    return t.value


def write_bindings(variables: list[str], rows: list[tuple[Term | None, ...]], fmt: str) -> bytes:
    """Serialise a SELECT table as SPARQL results JSON, XML, CSV or TSV."""
    if fmt == "json":
        bindings = [
            {v: _json_term(t) for v, t in zip(variables, row, strict=True) if t is not None}
            for row in rows
        ]
        doc = {"head": {"vars": variables}, "results": {"bindings": bindings}}
        return json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode()
    if fmt == "xml":
        parts = [
            '<?xml version="1.0"?>\n<sparql xmlns="http://www.w3.org/2005/sparql-results#"><head>'
        ]
        parts += [f"<variable name={quoteattr(v)}/>" for v in variables]
        parts.append("</head><results>")
        for row in rows:
            parts.append("<result>")
            for v, t in zip(variables, row, strict=True):
                if t is not None:
                    parts.append(f"<binding name={quoteattr(v)}>{_xml_term(t)}</binding>")
            parts.append("</result>")
        parts.append("</results></sparql>\n")
        return "".join(parts).encode()
    if fmt == "csv":
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\r\n")
        writer.writerow(variables)
        for row in rows:
            writer.writerow([_csv_value(t) for t in row])
        return buf.getvalue().encode()
    if fmt == "tsv":
        lines = ["\t".join("?" + v for v in variables)]
        lines += ["\t".join("" if t is None else term_to_nt(t) for t in row) for row in rows]
        return ("\n".join(lines) + "\n").encode()
    raise ValueError(f"format {fmt!r} cannot carry a SELECT result")


# --------------------------------------------------------------------------- oxigraph engine


def _ox_term(t: object) -> Term:
    """Convert a pyoxigraph term to a neutral Term."""
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


_OX_GRAPH_FORMATS = {
    "turtle": "TURTLE",
    "jsonld": "JSON_LD",
    "nt": "N_TRIPLES",
    "rdfxml": "RDF_XML",
}
_OX_RESULT_FORMATS = {"json": "JSON", "xml": "XML", "csv": "CSV", "tsv": "TSV"}


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

        if fmt not in _OX_RESULT_FORMATS:
            raise ValueError(f"format {fmt!r} cannot carry a SELECT result")
        tsv = ox.QueryResultsFormat.TSV
        body, count, truncated = _capped(
            lambda w: self.solutions.serialize(w, format=tsv),  # type: ignore[attr-defined]
            limit,
            header_lines=1,
        )
        if fmt != "tsv":
            target = getattr(ox.QueryResultsFormat, _OX_RESULT_FORMATS[fmt])
            body = ox.parse_query_results(body, format=tsv).serialize(format=target) or b""
        return Serialized(body, count, truncated)


class OxigraphGraphResult(QueryResult):
    """CONSTRUCT/DESCRIBE answer written by pyoxigraph's native serialisers."""

    kind: ResultKind = "graph"

    def __init__(self, triples: object) -> None:
        """Keep the lazy triple iterator (consumed once)."""
        self.triples = triples

    def serialize(self, fmt: str, limit: int | None = None) -> Serialized:
        """Write at most ``limit`` triples: capped native N-Triples, re-parsed if needed."""
        import pyoxigraph as ox

        if fmt not in _OX_GRAPH_FORMATS:
            raise ValueError(f"format {fmt!r} cannot carry a graph result")
        nt = ox.RdfFormat.N_TRIPLES
        body, count, truncated = _capped(
            lambda w: self.triples.serialize(w, format=nt),  # type: ignore[attr-defined]
            limit,
            header_lines=0,
        )
        if fmt != "nt":
            rdf_format = getattr(ox.RdfFormat, _OX_GRAPH_FORMATS[fmt])
            prefixes = PREFIXES if fmt in ("turtle", "rdfxml") else None
            triples = ox.parse(body, format=nt)
            body = ox.serialize(triples, format=rdf_format, prefixes=prefixes) or b""
        return Serialized(body, count, truncated)


class OxigraphEngine(QueryEngine):
    """Default engine: a pyoxigraph in-memory store, fast and pure-Rust."""

    name = "oxigraph"

    def __init__(self, files: dict[str, Path]) -> None:
        """Load each N-Triples file into its named graph."""
        import pyoxigraph as ox

        self._ox = ox
        self.store = ox.Store()
        self._graphs = tuple(files)
        self._counts: dict[str, int] = {}
        self._default_nodes = [ox.NamedNode(g) for g in self._graphs]
        for graph, path in files.items():
            node = ox.NamedNode(graph)
            self.store.bulk_load(path=str(path), format=ox.RdfFormat.N_TRIPLES, to_graph=node)
            self._counts[graph] = sum(
                1 for _ in self.store.quads_for_pattern(None, None, None, node)
            )

    @property
    def graphs(self) -> tuple[str, ...]:
        """Named graph IRIs held."""
        return self._graphs

    def count(self, graph: str | None = None) -> int:
        """Triples in ``graph``, or the sum over all graphs."""
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
        """Evaluate with an explicit dataset so FROM never reaches outside our graphs."""
        ox = self._ox
        nodes = self._default_nodes
        default = nodes if default_graphs is None else [ox.NamedNode(g) for g in default_graphs]
        named = nodes if named_graphs is None else [ox.NamedNode(g) for g in named_graphs]
        try:
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
            counts: dict[str, int] = {}
            for graph, file in files.items():
                node = ox.NamedNode(graph)
                store.bulk_load(path=str(file), format=ox.RdfFormat.N_TRIPLES, to_graph=node)
                counts[graph] = sum(1 for _ in store.quads_for_pattern(None, None, None, node))
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


class _RemoteBindings(BindingsResult):
    """SELECT answer from a remote endpoint as TSV, read only as far as the row limit needs."""

    def __init__(self, response: object, first: bytes) -> None:
        """Keep the open response; ``first`` is the header line already read."""
        self.response = response
        self.header = first
        self.variables = [v.lstrip("?$") for v in first.decode().rstrip("\r\n").split("\t") if v]
        self._rows: Iterator[tuple[Term | None, ...]] | None = None

    @property
    def rows(self) -> Iterator[tuple[Term | None, ...]]:  # type: ignore[override]
        """Neutral rows of the whole answer (used only for start-up look-ups)."""
        if self._rows is None:
            body = self.header + self.response.read()  # type: ignore[attr-defined]
            self._rows = OxigraphBindingsResult(_parse_tsv(body)).rows
        return self._rows

    def serialize(self, fmt: str, limit: int | None = None) -> Serialized:
        """Stream at most ``limit + 1`` rows from the remote, then write them in ``fmt``."""
        lines = [self.header]
        read = self.response.readline  # type: ignore[attr-defined]
        while limit is None or len(lines) <= limit + 1:
            line = read()
            if not line:
                break
            lines.append(line)
        self.response.close()  # type: ignore[attr-defined]
        return OxigraphBindingsResult(_parse_tsv(b"".join(lines))).serialize(fmt, limit)


def _parse_tsv(body: bytes) -> object:
    """Parse SPARQL TSV results with pyoxigraph (lossless: terms are in Turtle syntax)."""
    import pyoxigraph as ox

    return ox.parse_query_results(body, format=ox.QueryResultsFormat.TSV)


class _RemoteGraph(QueryResult):
    """CONSTRUCT/DESCRIBE answer from a remote endpoint as N-Triples, streamed under the cap."""

    kind: ResultKind = "graph"

    def __init__(self, response: object) -> None:
        """Keep the open response."""
        self.response = response

    def serialize(self, fmt: str, limit: int | None = None) -> Serialized:
        """Read at most ``limit + 1`` triples, then write them natively in ``fmt``."""
        read = self.response.readline  # type: ignore[attr-defined]

        def replay(sink: object) -> None:
            while line := read():
                sink.write(line)  # type: ignore[attr-defined]

        class _Triples:
            serialize = staticmethod(lambda w, format: replay(w))

        try:
            return OxigraphGraphResult(_Triples()).serialize(fmt, limit)
        finally:
            self.response.close()  # type: ignore[attr-defined]


class SparqlEngine(QueryEngine):
    """Our graphs held by a remote SPARQL 1.1 endpoint, so a cluster can serve big graphs.

    Every query is sent with an explicit dataset (``default-graph-uri``/``named-graph-uri``)
    naming only our graphs; an empty part is filled with a graph IRI that holds nothing,
    so the remote store's own default dataset never leaks in.  Connections are kept per
    process and thread (the endpoint forks executors).
    """

    name = "sparql"
    #: A graph IRI that never holds triples: it keeps an empty dataset part explicit.
    NOTHING = BASE + "graph/none"
    ACCEPT = "text/tab-separated-values, application/n-triples;q=0.9"

    def __init__(self, url: str, graphs: Sequence[str], timeout: float = 3600.0) -> None:
        """Remember the endpoint URL (``http://host:port/path``) and our graph IRIs."""
        from urllib.parse import urlsplit

        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) SPARQL endpoint URL: {url!r}")
        self.url = url
        self._parts = parts
        self._graphs = tuple(graphs)
        self.timeout = timeout
        self._local = __import__("threading").local()
        self._counts: dict[str, int] = {}

    @property
    def graphs(self) -> tuple[str, ...]:
        """Named graph IRIs held."""
        return self._graphs

    def _connection(self, fresh: bool = False) -> object:
        """A keep-alive connection owned by this process and thread."""
        import http.client
        import os

        conn = getattr(self._local, "conn", None)
        if fresh or conn is None or self._local.pid != os.getpid():
            cls = (
                http.client.HTTPSConnection
                if self._parts.scheme == "https"
                else http.client.HTTPConnection
            )
            conn = cls(self._parts.hostname, self._parts.port, timeout=self.timeout)
            self._local.conn, self._local.pid = conn, os.getpid()
        return conn

    def _post(self, sparql: str, default: Sequence[str], named: Sequence[str]) -> object:
        """POST the query with its dataset and return the open response (retrying once)."""
        import http.client
        from urllib.parse import urlencode

        params = [("query", sparql)]
        params += [("default-graph-uri", g) for g in (default or [self.NOTHING])]
        params += [("named-graph-uri", g) for g in (named or [self.NOTHING])]
        body = urlencode(params).encode()
        path = self._parts.path or "/"
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "Accept": self.ACCEPT,
        }
        for attempt in (0, 1):
            conn = self._connection(fresh=attempt > 0)
            try:
                conn.request("POST", path, body, headers)  # type: ignore[attr-defined]
                return conn.getresponse()  # type: ignore[attr-defined]
            except (http.client.HTTPException, ConnectionError):
                conn.close()  # type: ignore[attr-defined]
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def query(
        self,
        sparql: str,
        *,
        default_graphs: Sequence[str] | None = None,
        named_graphs: Sequence[str] | None = None,
    ) -> QueryResult:
        """Send the query with a dataset of our graphs only and wrap the streamed answer."""
        default = self._graphs if default_graphs is None else tuple(default_graphs)
        named = self._graphs if named_graphs is None else tuple(named_graphs)
        response = self._post(sparql, default, named)
        status = response.status  # type: ignore[attr-defined]
        ctype = (response.getheader("Content-Type") or "").split(";")[0].strip().lower()  # type: ignore[attr-defined]
        if status != 200:
            message = response.read(2000).decode("utf-8", "replace").strip()  # type: ignore[attr-defined]
            if 400 <= status < 500:
                raise QuerySyntaxError(message or f"remote endpoint answered {status}")
            raise RuntimeError(f"remote endpoint {self.url} answered {status}: {message}")
        if ctype == "application/n-triples":
            return _RemoteGraph(response)
        if ctype != "text/tab-separated-values":
            response.read()  # type: ignore[attr-defined]
            raise RuntimeError(f"remote endpoint {self.url} answered {ctype!r}")
        first = response.readline()  # type: ignore[attr-defined]
        if first.strip() in (b"true", b"false"):
            response.read()  # type: ignore[attr-defined]
            return BooleanResult(first.strip() == b"true")
        return _RemoteBindings(response, first)

    def count(self, graph: str | None = None) -> int:
        """Triples in ``graph`` (or all ours), asked once of the remote and remembered."""
        if graph is None:
            return sum(self.count(g) for g in self._graphs)
        if graph not in self._graphs:
            return 0
        if graph not in self._counts:
            result = self.query(
                "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }", default_graphs=(graph,),
                named_graphs=(),
            )
            rows, _ = result.take(None)  # type: ignore[attr-defined]
            self._counts[graph] = int(rows[0][0].value) if rows and rows[0][0] else 0
        return self._counts[graph]


# --------------------------------------------------------------------------- rdflib engine


def _rdflib_term(t: object) -> Term:
    """Convert an rdflib term to a neutral Term."""
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
        """Keep the triples."""
        self.triples = iter(triples)

    def serialize(self, fmt: str, limit: int | None = None) -> Serialized:
        """Write at most ``limit`` triples with rdflib."""
        from rdflib import Graph

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
        """Named graph IRIs held."""
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


# --------------------------------------------------------------------------- factory

ENGINES: dict[str, type[QueryEngine]] = {"oxigraph": OxigraphEngine, "rdflib": RdflibEngine}


def release_files(release_dir: Path) -> dict[str, Path]:
    """Map each named graph to its file in ``release_dir``, failing early if one is missing."""
    files = {graph: Path(release_dir) / name for graph, name in GRAPH_FILES.items()}
    missing = [str(p) for p in files.values() if not p.is_file()]
    if missing:
        raise FileNotFoundError(f"release is missing {', '.join(missing)}")
    return files


STORE_KINDS = ("memory", "oxigraph:PATH", "sparql:URL")


def _release_id(release_dir: Path) -> str:
    """The release's identity (version and source hash) from its manifest, or ''."""
    try:
        manifest = json.loads((Path(release_dir) / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return ""
    return json.dumps(
        {k: manifest.get(k) for k in ("version", "sources_sha256", "source_hash", "files")},
        sort_keys=True,
    )


def open_store(
    release_dir: Path, engine: str = "oxigraph", store: str | None = None
) -> QueryEngine:
    """Open the served store for a release, the only way the server gets one.

    ``store`` is ``None``/``"memory"`` (load the release into ``engine`` in memory),
    ``"oxigraph:PATH"`` (an on-disk pyoxigraph store at PATH, loaded once from the release)
    or ``"sparql:URL"`` (a remote SPARQL endpoint already holding our graphs, see
    ``cytokg publish``).
    """
    if store and store != "memory":
        kind, sep, where = store.partition(":")
        if not sep or not where:
            raise ValueError(f"unknown store {store!r}; use one of {', '.join(STORE_KINDS)}")
        if kind == "oxigraph":
            files = release_files(release_dir)
            return OxigraphDiskEngine(files, Path(where), _release_id(release_dir))
        if kind == "sparql":
            return SparqlEngine(where, tuple(GRAPH_FILES))
        raise ValueError(f"unknown store {store!r}; use one of {', '.join(STORE_KINDS)}")
    try:
        cls = ENGINES[engine]
    except KeyError:
        raise ValueError(f"unknown engine {engine!r}; choose from {sorted(ENGINES)}") from None
    return cls(release_files(release_dir))
