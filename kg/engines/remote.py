"""The remote engine: our graphs held by another SPARQL 1.1 endpoint, so a cluster can serve them.

Queries go out by the SPARQL 1.1 Protocol (https://www.w3.org/TR/sparql11-protocol/,
section 2.1.3, POST with URL-encoded parameters); answers come back as SPARQL 1.1 TSV
results (https://www.w3.org/TR/sparql11-results-csv-tsv/) or N-Triples and are read only
as far as the row limit needs, then written by the pyoxigraph writers.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from kg.engines.base import QueryEngine, QuerySyntaxError
from kg.engines.oxigraph import OxigraphBindingsResult, OxigraphGraphResult
from kg.results import BindingsResult, BooleanResult, QueryResult, ResultKind, Serialized, Term
from kg.vocab import BASE


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
        """Keep the open response, to be read no further than the cap."""
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
        import threading
        from urllib.parse import urlsplit

        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) SPARQL endpoint URL: {url!r}")
        self.url = url
        self._parts = parts
        self._graphs = tuple(graphs)
        self.timeout = timeout
        self._local = threading.local()
        self._counts: dict[str, int] = {}

    @property
    def graphs(self) -> tuple[str, ...]:
        """Named graph IRIs held, which every query's dataset is limited to."""
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
