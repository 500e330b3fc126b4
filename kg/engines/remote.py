"""The remote engine: our graphs held by another SPARQL 1.1 endpoint, so a cluster can serve them.

Queries go out by the SPARQL 1.1 Protocol (https://www.w3.org/TR/sparql11-protocol/,
section 2.1.3, POST with URL-encoded parameters) with an explicit dataset of our graphs.
SELECT and ASK answers come back as SPARQL 1.1 Query Results JSON
(https://www.w3.org/TR/sparql11-results-json/), graphs as N-Triples; both are parsed as a
stream by pyoxigraph and read only as far as the row limit needs.  The Accept header names
one format per query form because a store may answer a CONSTRUCT in any format it was offered
(Virtuoso writes a graph as a SPARQL JSON table when that comes first), and JSON rather than
TSV because Virtuoso 7's TSV drops the difference between IRIs and literals.

Known store dialects are handled here and nowhere else: Virtuoso labels blank nodes
``nodeID://b123`` in JSON (rewritten to ``b123``), its DESCRIBE adds the triples pointing at a
resource unless ``sql:describe-mode "CBD"`` is asked (asked once the ``Server`` header says
Virtuoso), and its "anytime" partial answers (header ``X-SQL-State``) are refused, never served
as if complete.
"""

from __future__ import annotations

import io
import re
import threading
from collections.abc import Callable, Sequence
from typing import ClassVar

from kg.engines.base import QueryEngine, QuerySyntaxError
from kg.engines.oxigraph import OxigraphBindingsResult, OxigraphGraphResult
from kg.results import BooleanResult, QueryResult, ResultKind, Serialized, Term
from kg.vocab import BASE

#: Whitespace, comments and BASE/PREFIX declarations that may precede the query form.
_PROLOGUE = re.compile(r"(?:\s+|#[^\n]*|BASE\s*<[^>]*>|PREFIX\s*[^\s:]*:\s*<[^>]*>)*", re.I)
_FORM = re.compile(r"(SELECT|ASK|CONSTRUCT|DESCRIBE)\b", re.I)

#: ``GRAPH <iri>`` or ``GRAPH prefix:name``, and the query's prefix declarations.
_GRAPH_CONSTANT = re.compile(r"\bGRAPH\s*(?:<([^>\s]*)>|([A-Za-z][\w.-]*)?:([\w.-]*))", re.I)
_PREFIX_DECL = re.compile(r"\bPREFIX\s*([A-Za-z][\w.-]*)?:\s*<([^>\s]*)>", re.I)

#: The graph whose triples say which published version of our graphs is served (see
#: kg.publishers.virtuoso): ``<CURRENT> <SERVED_VERSION> N`` means graph G is read from G/vN.
CURRENT_GRAPH = BASE + "graph/current"
SERVED_VERSION = BASE + "servedVersion"

JSON_RESULTS = "application/sparql-results+json"
NTRIPLES = "application/n-triples"


def query_form(sparql: str) -> str | None:
    """The query form (SELECT, ASK, CONSTRUCT, DESCRIBE) after the prologue, or None."""
    start = _PROLOGUE.match(sparql)
    form = _FORM.match(sparql, start.end() if start else 0)
    return form.group(1).upper() if form else None


def graph_constants(sparql: str) -> set[str]:
    """IRIs named by ``GRAPH <iri>`` or ``GRAPH p:name`` in a query (prefixes expanded).

    Virtuoso lets such a pattern read any graph it holds, whatever the request's named graphs
    are, so these are checked against ours before the query leaves.  A literal that happens
    to contain such text is refused too, which errs on the safe side.
    """
    prefixes = {m.group(1) or "": m.group(2) for m in _PREFIX_DECL.finditer(sparql)}
    found = set()
    for match in _GRAPH_CONSTANT.finditer(sparql):
        if match.group(1) is not None:
            found.add(match.group(1))
        else:
            found.add(prefixes.get(match.group(2) or "", f"{match.group(2) or ''}:")
                      + match.group(3))
    return found


#: What ``virtuoso_is_iri`` skips (strings, IRIs, comments) and the calls it rewrites.
_IS_IRI_TOKEN = re.compile(
    r'(?P<skip>"""(?:[^"\\]|\\.|"(?!""))*"""|\'\'\'(?:[^\'\\]|\\.|\'(?!\'\'))*\'\'\''
    r'|"(?:[^"\\\n]|\\.)*"|\'(?:[^\'\\\n]|\\.)*\'|<[^<>"{}|^`\\\x00-\x20]*>|#[^\n]*)'
    r"|(?<![\w?$:])is(?:IRI|URI)\s*\(\s*(?P<var>[?$]\w+)\s*\)",
    re.I,
)


def virtuoso_is_iri(sparql: str) -> str:
    """``isIRI(?x)``/``isURI(?x)`` written ``(!isBlank(?x) && !isLiteral(?x))`` for Virtuoso.

    The same test on RDF terms (SPARQL 1.1, section 17.4.2.1), but Virtuoso 7.2 evaluates
    ``isIRI`` on a subject row by row (16 s over 2.8 M triples) and the other form from its
    indexes (0.4 s).  Only a variable's test is rewritten; strings, IRIs and comments are kept.
    """

    def one(match: re.Match[str]) -> str:
        var = match.group("var")
        return match.group() if var is None else f"(!isBlank({var}) && !isLiteral({var}))"

    return _IS_IRI_TOKEN.sub(one, sparql)


class RemoteError(RuntimeError):
    """The remote store failed or answered something that cannot be served as complete."""


XSD_BOOLEAN = b"http://www.w3.org/2001/XMLSchema#boolean"
#: Virtuoso writes stored xsd:boolean values as 0 and 1; the canonical forms are false and true.
_JSON_BOOLEAN = re.compile(
    rb'("datatype"\s*:\s*"' + re.escape(XSD_BOOLEAN) + rb'"\s*,\s*"value"\s*:\s*")([01])"'
)
_NT_BOOLEAN = re.compile(rb'(?<=[ \t])"([01])"(\^\^<' + re.escape(XSD_BOOLEAN) + rb'>)')
_CANONICAL = {b"0": b"false", b"1": b"true"}


def canonical_booleans(line: bytes) -> bytes:
    """An N-Triples line with ``"0"``/``"1"`` xsd:boolean literals written false/true."""
    return _NT_BOOLEAN.sub(lambda m: b'"' + _CANONICAL[m.group(1)] + b'"' + m.group(2), line)


_JSON_BNODE = re.compile(rb'("type"\s*:\s*"bnode"\s*,\s*"value"\s*:\s*")nodeID://')


def plain_json(text: bytes) -> bytes:
    """SPARQL JSON results with Virtuoso's blank node labels and booleans made standard.

    ``nodeID://b123`` becomes ``b123`` and xsd:boolean values 0/1 become false/true.  The
    patterns can only match a binding's keys: inside a JSON string a quote is escaped.
    """
    text = _JSON_BNODE.sub(rb"\1", text)
    return _JSON_BOOLEAN.sub(lambda m: m.group(1) + _CANONICAL[m.group(2)] + b'"', text)


class _Rewritten(io.RawIOBase):
    """An HTTP response body passed through a rewrite, streamed.

    A tail longer than any match is held back between reads, so a match that a read cut in
    two is completed by the next read before it is passed on.
    """

    HOLD = 160

    def __init__(self, response: object, rewrite: Callable[[bytes], bytes]) -> None:
        """Wrap an open HTTP response (anything with ``read1``)."""
        super().__init__()
        self._response = response
        self._rewrite = rewrite
        self._held = b""
        self._ready = b""
        self._eof = False

    def readable(self) -> bool:
        """A read-only stream."""
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        """Fill ``buffer`` with rewritten bytes; 0 only at the end of the response."""
        while not self._ready and not self._eof:
            chunk = self._response.read1(65536)  # type: ignore[attr-defined]
            text = self._rewrite(self._held + chunk)
            if not chunk:
                self._eof, self._ready, self._held = True, text, b""
            else:
                self._ready, self._held = text[: -self.HOLD], text[-self.HOLD :]
        size = min(len(buffer), len(self._ready))
        buffer[:size] = self._ready[:size]
        self._ready = self._ready[size:]
        return size


class _RemoteBindings(OxigraphBindingsResult):
    """SELECT answer parsed as a stream from the remote, read no further than the row limit.

    ``capped_at`` is the store's own row cap when it says it cut this answer there (Virtuoso's
    ``ResultSetMaxRows``, header ``X-SPARQL-MaxRows``): such an answer is reported truncated.
    """

    def __init__(self, solutions: object, finish: object, capped_at: int | None = None) -> None:
        """Keep the lazy solutions and the callback that releases the HTTP response."""
        super().__init__(solutions)
        self._finish = finish
        self.capped_at = capped_at

    def take(self, limit: int | None) -> tuple[list[tuple[Term | None, ...]], bool]:
        """Rows as ``BindingsResult.take``, truncated too when the store cut the answer."""
        rows, truncated = super().take(limit)
        return rows, truncated or self._cut(len(rows))

    def serialize(self, fmt: str, limit: int | None = None) -> Serialized:
        """Write at most ``limit`` rows, then release the response (dropping unread bytes)."""
        try:
            done = super().serialize(fmt, limit)
        finally:
            self._finish()  # type: ignore[operator]
        if not done.truncated and self._cut(done.count):
            return Serialized(done.body, done.count, True)
        return done

    def _cut(self, count: int) -> bool:
        """Whether ``count`` rows reach the cap at which the store cut the answer."""
        return self.capped_at is not None and count >= self.capped_at


class _RemoteGraph(QueryResult):
    """CONSTRUCT/DESCRIBE answer from a remote endpoint as N-Triples, streamed under the cap."""

    kind: ResultKind = "graph"

    def __init__(self, response: object, finish: object,
                 rewrite: Callable[[bytes], bytes] = canonical_booleans) -> None:
        """Keep the open response, to be read no further than the cap."""
        self.response = response
        self._finish = finish
        self._rewrite = rewrite

    def serialize(self, fmt: str, limit: int | None = None) -> Serialized:
        """Read at most ``limit + 1`` triples, re-written natively so every store looks alike."""
        import pyoxigraph as ox

        nt = ox.RdfFormat.N_TRIPLES
        stream = io.BufferedReader(_Rewritten(self.response, self._rewrite))

        class _Triples:
            @staticmethod
            def serialize(sink: object, format: object) -> None:
                ox.serialize(ox.parse(stream, format=nt), output=sink, format=nt)

        try:
            return OxigraphGraphResult(_Triples()).serialize(fmt, limit)
        finally:
            self._finish()  # type: ignore[operator]


class SparqlEngine(QueryEngine):
    """Our graphs held by a remote SPARQL 1.1 endpoint, so a cluster can serve big graphs.

    Every query is sent with an explicit dataset (``default-graph-uri``/``named-graph-uri``)
    naming only our graphs, so the default graph is their union whatever the store's own
    default is (Virtuoso's is every graph it holds); an empty part is filled with a graph IRI
    that holds nothing, so the store's default dataset never leaks in.  Connections are kept
    per process and thread (the endpoint forks executors).
    """

    name = "sparql"
    #: A graph IRI that never holds triples: it keeps an empty dataset part explicit.
    NOTHING = BASE + "graph/none"
    ACCEPT: ClassVar[dict[str, str]] = {"SELECT": JSON_RESULTS, "ASK": JSON_RESULTS,
              "CONSTRUCT": NTRIPLES, "DESCRIBE": NTRIPLES}
    #: Offered when the form cannot be told (the store then reports the syntax error).
    ACCEPT_ANY = f"{JSON_RESULTS}, {NTRIPLES};q=0.9"
    #: Virtuoso's DESCRIBE gives the concise bounded description only when asked.
    VIRTUOSO_DESCRIBE = 'define sql:describe-mode "CBD"\n'

    def __init__(self, url: str, graphs: Sequence[str], timeout: float = 3600.0,
                 default_graphs: Sequence[str] | None = None) -> None:
        """Remember the endpoint URL (``http://host:port/path``) and our graph IRIs.

        ``default_graphs`` (all of ``graphs`` when None) make the default graph.  The store
        keeps the SPARQL examples out of it: Virtuoso 7.2.5 answers a ``p*`` path with no
        rows once a query's dataset names three or more default graphs, even an empty third
        (measured with question 09), so only the two knowledge graphs are the default there.
        """
        from urllib.parse import urlsplit

        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) SPARQL endpoint URL: {url!r}")
        self.url = url
        self._parts = parts
        self._graphs = tuple(graphs)
        self._default = self._graphs if default_graphs is None else tuple(default_graphs)
        self.timeout = timeout
        self._local = threading.local()
        self._counts: dict[str, int] = {}
        self._version: tuple[float, int | None] = (float("-inf"), None)
        #: The store's product from its ``Server`` header, learnt from the first answer.
        self.server: str | None = None

    @property
    def graphs(self) -> tuple[str, ...]:
        """Named graph IRIs held, which every query's dataset is limited to."""
        return self._graphs

    @property
    def virtuoso(self) -> bool:
        """Whether the store has said it is OpenLink Virtuoso."""
        return (self.server or "").startswith("Virtuoso/")

    def _connection(self, fresh: bool = False) -> object:
        """A keep-alive connection owned by this process and thread."""
        import http.client
        import os

        conn = getattr(self._local, "conn", None)
        if fresh or conn is None or self._local.pid != os.getpid():
            if conn is not None and self._local.pid == os.getpid():
                conn.close()
            cls = (
                http.client.HTTPSConnection
                if self._parts.scheme == "https"
                else http.client.HTTPConnection
            )
            conn = cls(self._parts.hostname, self._parts.port, timeout=self.timeout)
            self._local.conn, self._local.pid = conn, os.getpid()
        return conn

    def _post(
        self, sparql: str, default: Sequence[str], named: Sequence[str], accept: str
    ) -> tuple[object, object]:
        """POST the query with its dataset; return the connection and open response."""
        import http.client
        from urllib.parse import urlencode

        params = [("query", sparql)]
        params += [("default-graph-uri", g) for g in (default or [self.NOTHING])]
        params += [("named-graph-uri", g) for g in (named or [self.NOTHING])]
        body = urlencode(params).encode()
        path = self._parts.path or "/"
        if self._parts.query:
            path = f"{path}?{self._parts.query}"
        headers = {"Content-Type": "application/x-www-form-urlencoded", "Accept": accept}
        for attempt in (0, 1):
            conn = self._connection(fresh=attempt > 0)
            try:
                conn.request("POST", path, body, headers)  # type: ignore[attr-defined]
                response = conn.getresponse()  # type: ignore[attr-defined]
            except (http.client.HTTPException, ConnectionError):
                conn.close()  # type: ignore[attr-defined]
                if attempt:
                    raise
                continue
            if self.server is None:
                self.server = response.getheader("Server") or ""
            return conn, response
        raise AssertionError("unreachable")

    #: Seconds a process trusts the served version it read; a publish keeps the previous
    #: version in place, so a query on a version read this long ago still reads it whole.
    VERSION_TTL = 1.0

    def served_version(self) -> int | None:
        """The published version to read (None: our graphs are stored under their own IRIs).

        Read from the store at most once per ``VERSION_TTL``; the highest number wins, so the
        moment the publisher adds the new number every later query reads the new version whole.
        """
        import time

        read_at, version = self._version
        if time.monotonic() - read_at < self.VERSION_TTL:
            return version
        ask = (f"SELECT ?n WHERE {{ GRAPH <{CURRENT_GRAPH}> {{ <{CURRENT_GRAPH}> "
               f"<{SERVED_VERSION}> ?n }} }}")
        _, response = self._post(ask, [self.NOTHING], [CURRENT_GRAPH], JSON_RESULTS)
        body = response.read()  # type: ignore[attr-defined]
        if response.status == 200:  # type: ignore[attr-defined]
            import json

            numbers = [int(b["n"]["value"]) for b in json.loads(body)["results"]["bindings"]
                       if b.get("n", {}).get("value", "").isdigit()]
            version = max(numbers) if numbers else None
        self._version = (time.monotonic(), version)
        return version

    def _mapping(self) -> dict[str, str]:
        """Each of our graph IRIs -> the graph IRI its triples are read from now."""
        version = self.served_version()
        if version is None:
            return {g: g for g in self._graphs}
        return {g: f"{g}/v{version}" for g in self._graphs}

    def query(
        self,
        sparql: str,
        *,
        default_graphs: Sequence[str] | None = None,
        named_graphs: Sequence[str] | None = None,
    ) -> QueryResult:
        """Send the query with a dataset of our graphs only and wrap the streamed answer."""
        import pyoxigraph as ox

        default = self._default if default_graphs is None else tuple(default_graphs)
        named = self._graphs if named_graphs is None else tuple(named_graphs)
        form = query_form(sparql)
        foreign = sorted(graph_constants(sparql) - set(self._graphs))
        if foreign:
            raise QuerySyntaxError(f"graph <{foreign[0]}> is not served here; the named graphs "
                                   f"are {', '.join(f'<{g}>' for g in self._graphs)}")
        if form == "DESCRIBE" and self.server is None and self._graphs:
            self.count(self._graphs[0])  # learn the store's dialect first
        if form == "DESCRIBE" and self.virtuoso:
            sparql = self.VIRTUOSO_DESCRIBE + sparql
        accept = self.ACCEPT.get(form or "", self.ACCEPT_ANY)
        mapping = {g: v for g, v in self._mapping().items() if g != v}
        back: list[tuple[bytes, bytes]] = []
        for graph, stored in mapping.items():  # read the served version, answer with our IRIs
            sparql = sparql.replace(f"<{graph}>", f"<{stored}>")
            back += [(f"{stored}{end}".encode(), f"{graph}{end}".encode()) for end in '">']
        default = tuple(mapping.get(g, g) for g in default)
        named = tuple(mapping.get(g, g) for g in named)
        if self.virtuoso:
            sparql = virtuoso_is_iri(sparql)

        def ours(text: bytes) -> bytes:
            for stored_bytes, graph_bytes in back:
                text = text.replace(stored_bytes, graph_bytes)
            return text

        conn, response = self._post(sparql, default, named, accept)

        def finish() -> None:
            """Release the response; a connection with unread bytes cannot be reused."""
            if not response.isclosed():  # type: ignore[attr-defined]
                response.close()  # type: ignore[attr-defined]
                conn.close()  # type: ignore[attr-defined]

        status = response.status  # type: ignore[attr-defined]
        ctype = (response.getheader("Content-Type") or "").split(";")[0].strip().lower()  # type: ignore[attr-defined]
        state = response.getheader("X-SQL-State")  # type: ignore[attr-defined]
        if status != 200 or state:
            message = response.read(2000).decode("utf-8", "replace").strip()  # type: ignore[attr-defined]
            finish()
            if 400 <= status < 500:
                raise QuerySyntaxError(message or f"remote endpoint answered {status}")
            if state:
                message = f"partial answer ({state}): {response.getheader('X-SQL-Message')}"  # type: ignore[attr-defined]
            raise RemoteError(f"remote endpoint {self.url} answered {status}: {message[:500]}")
        if ctype == NTRIPLES or ctype == "text/plain":
            return _RemoteGraph(response, finish, lambda t: ours(canonical_booleans(t)))
        if ctype != JSON_RESULTS:
            finish()
            raise RemoteError(f"remote endpoint {self.url} answered {ctype!r}")
        stream = io.BufferedReader(_Rewritten(response, lambda t: ours(plain_json(t))))
        try:
            parsed = ox.parse_query_results(stream, format=ox.QueryResultsFormat.JSON)
        except SyntaxError as exc:
            finish()
            raise RemoteError(f"remote endpoint {self.url} sent unreadable JSON: {exc}") from None
        if isinstance(parsed, ox.QueryBoolean):
            finish()
            return BooleanResult(bool(parsed))
        cap = (response.getheader("X-SPARQL-MaxRows") or "").strip()  # type: ignore[attr-defined]
        return _RemoteBindings(parsed, finish, int(cap) if cap.isdigit() else None)

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
