"""The SPARQL 1.1 Protocol query operation at /sparql (https://www.w3.org/TR/sparql11-protocol/).

The common request, a GET with a query and nothing unusual, is answered by a WSGI route
ahead of Flask (:class:`DirectQueries`), with the same checks, bytes and headers as the
Flask view, which handles everything else.
"""

from __future__ import annotations

import codecs
import re
import time
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qsl

from flask import Blueprint, Flask, Response, request
from werkzeug.http import HTTP_STATUS_CODES

from kg.store import GRAPH_EXAMPLES

from . import errors, formats, runtime
from .accesslog import AccessLog
from .hangup import Hangup, server_port
from .limits import ExecutorCrashed, Job, PoolBusy, QueryAbandoned, QueryTimeout, Reply

bp = Blueprint("sparql", __name__)

QUERY_PARAMS = frozenset({"query", "default-graph-uri", "named-graph-uri", "format"})
DATASET_PARAMS = ("default-graph-uri", "named-graph-uri")
#: Where SIB's convention puts the SPARQL examples, below the endpoint URL (kg.examples).
EXAMPLES_PATH = "/.well-known/sparql-examples"
UPDATE_PARAMS = frozenset({"update", "using-graph-uri", "using-named-graph-uri"})
#: Parameters that name a result format: ``format`` is ours (and Virtuoso's); SPARQLWrapper
#: repeats its choice in ``output`` (Joseki, rdflib's SERVICE) and ``results``.  All are hints.
FORMAT_HINTS = ("format", "output", "results")
#: Parameters clients add that carry no meaning here: ``_`` is a jQuery-style cache-buster.
IGNORED_PARAMS = frozenset({"_"})
ACCEPTED_PARAMS = QUERY_PARAMS | frozenset(FORMAT_HINTS) | IGNORED_PARAMS
SINGLE_PARAMS = ("query",)
#: A scheme at the start of an IRI reference makes it absolute (RFC 3986 section 3.1).
_ABSOLUTE_IRI = re.compile(r"<[A-Za-z][A-Za-z0-9+.\-]*:")
#: An IRI-shaped token without a scheme, wherever it is (one C pass rules most queries out).
_MAYBE_RELATIVE = re.compile(r"<(?![A-Za-z][A-Za-z0-9+.\-]*:)[^<>\"{}|^`\\\x00-\x20]*>")
#: Strings, comments and IRI references of a query, so IRIs are found outside strings.
_IRI_LEXER = re.compile(
    r"""(?P<string>'''(?:(?:'|'')?(?:[^'\\]|\\.))*'''|\"\"\"(?:(?:"|"")?(?:[^"\\]|\\.))*\"\"\"
       |'(?:[^'\\\n\r]|\\.)*'|"(?:[^"\\\n\r]|\\.)*")
      |(?P<comment>\#[^\n\r]*)
      |(?P<iri><[^<>"{}|^`\\\x00-\x20]*>)""",
    re.VERBOSE | re.DOTALL,
)
#: Positions in parse errors: pyoxigraph's "at LINE:COL" and pyparsing's "(line:LINE".
_POSITION = re.compile(r"(\bat |\(line:)(\d+)(?=:\d|,)")


def _decode_params(raw: bytes, where: str) -> list[tuple[str, str]]:
    """Decode application/x-www-form-urlencoded data strictly as UTF-8 (Protocol 2.1.1/2.1.2)."""
    try:
        return parse_qsl(
            raw.decode("ascii"), keep_blank_values=True, encoding="utf-8", errors="strict"
        )
    except UnicodeDecodeError:
        raise errors.bad_request(f"The {where} is not valid percent-encoded UTF-8.") from None


def _unquote(text: str) -> str:
    """Percent-decode ASCII ``text`` as UTF-8 in C; errors are left to ``parse_qsl``.

    Each ``%XX`` becomes a ``\\xXX`` escape for the ``unicode_escape`` codec (backslashes
    escaped first), which yields the bytes as Latin-1 code points; a malformed escape raises.
    """
    if "%" not in text:
        return text
    escaped = text.replace("\\", "\\\\").replace("%", "\\x")
    return codecs.decode(escaped, "unicode_escape").encode("latin-1").decode("utf-8")


def fast_params(raw: str) -> list[tuple[str, str]] | None:
    """``parse_qsl(raw, keep_blank_values=True)`` of an ASCII query string, or None.

    None (for the exact, slower parse) when ``raw`` is not ASCII or holds a percent
    sign not followed by two hex digits or bytes that are not UTF-8.
    """
    if not raw.isascii():
        return None
    pairs = []
    try:
        for field in raw.split("&"):
            if field:
                name, _, value = field.partition("=")
                pairs.append((_unquote(name.replace("+", " ")), _unquote(value.replace("+", " "))))
    except (UnicodeError, ValueError):
        return None
    return pairs


def _url_params() -> list[tuple[str, str]]:
    """Parameters in the request URL, refusing an over-long query string with 414."""
    limit = runtime().settings.url_limit
    if len(request.query_string) > limit:
        raise errors.uri_too_long(
            f"The query string is over the limit of {limit} bytes; send long queries by POST."
        )
    return _decode_params(request.query_string, "URL query string")


def _body() -> bytes:
    """The raw request body, bounded by MAX_CONTENT_LENGTH (413 beyond it)."""
    return request.get_data(cache=True)


def collect_params() -> tuple[dict[str, list[str]], str | None]:
    """Gather protocol parameters per method and Content-Type (Protocol 2.1.1-2.1.3).

    Returns the parameters and, for a direct POST, the query taken from the body.
    """
    params = _url_params()
    direct_query: str | None = None
    if request.method == "POST":
        mimetype = (request.mimetype or "").lower()
        charset = (request.mimetype_params.get("charset") or "utf-8").lower()
        if mimetype == "application/sparql-update":
            raise errors.forbidden("SPARQL Update is not supported: this endpoint is read-only.")
        if mimetype not in ("application/x-www-form-urlencoded", "application/sparql-query"):
            raise errors.unsupported_media_type(
                f"Unsupported Content-Type {request.mimetype or '(none)'!r}: POST a query as "
                "application/x-www-form-urlencoded (query=...) or application/sparql-query."
            )
        if charset not in ("utf-8", "utf8"):
            raise errors.unsupported_media_type(f"Unsupported charset {charset!r}; use UTF-8.")
        body = _body()
        if mimetype == "application/x-www-form-urlencoded":
            # 2.1.2 query via POST with URL-encoded parameters: everything is in the body.
            params = params + _decode_params(body, "request body")
        else:
            # 2.1.3 query via POST directly: the body is the query, dataset params in the URL.
            if any(name == "query" for name, _ in params):
                raise errors.bad_request(
                    "A direct POST (application/sparql-query) carries the "
                    "query in the body; remove the 'query' URL parameter."
                )
            try:
                direct_query = body.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise errors.bad_request(
                    f"The request body is not valid UTF-8 (byte {exc.start})."
                ) from None
    grouped: dict[str, list[str]] = {}
    for name, value in params:
        grouped.setdefault(name, []).append(value)
    return grouped, direct_query


def check_params(params: dict[str, list[str]]) -> None:
    """Refuse update parameters, unknown parameters and repeated single-valued ones.

    Parameters that other servers define and that would change a request's meaning here
    (``timeout``, ``callback``, ``infer``...) stay refused, so no client is silently misled.
    """
    update = sorted(UPDATE_PARAMS & params.keys())
    if update:
        raise errors.forbidden(
            f"SPARQL Update is not supported: this endpoint is read-only (got {', '.join(update)})."
        )
    unknown = sorted(params.keys() - ACCEPTED_PARAMS)
    if unknown:
        raise errors.bad_request(
            f"Unknown parameter(s): {', '.join(unknown)}. "
            f"Allowed: {', '.join(sorted(QUERY_PARAMS))}; "
            f"also accepted: {', '.join(sorted(ACCEPTED_PARAMS - QUERY_PARAMS))}."
        )
    for name in SINGLE_PARAMS:
        if len(params.get(name, [])) > 1:
            raise errors.bad_request(
                f"Exactly one '{name}' parameter is allowed; got {len(params[name])}."
            )


def protocol_dataset(
    params: dict[str, list[str]], ours: tuple[str, ...]
) -> tuple[tuple[str, ...] | None, tuple[str, ...] | None]:
    """Protocol 2.1.4: default-graph-uri / named-graph-uri select among our graphs only."""
    default = params.get("default-graph-uri", [])
    named = params.get("named-graph-uri", [])
    for where, iris in (("default-graph-uri", default), ("named-graph-uri", named)):
        foreign = [iri for iri in iris if iri not in ours]
        if foreign:
            raise errors.bad_request(
                f"{where} names graph(s) not served here (never fetched): {', '.join(foreign)}. "
                f"Available graphs: {', '.join(ours)}."
            )
    if not default and not named:
        return None, None
    return tuple(default), tuple(named)


def format_hints(params: dict[str, list[str]]) -> dict[formats.Kind, formats.Format]:
    """The format named by ``format`` (or ``output``/``results``) for each kind of answer.

    Values naming the same format may repeat (SPARQLWrapper sends ``format=tsv&format=
    text/tab-separated-values``); empty values are skipped, and a comma-separated list of
    media types names its first one we write.  An unknown ``format`` value is a 400; an
    unknown ``output``/``results`` value belongs to another server and is ignored.
    """
    named: dict[formats.Kind, set[formats.Format]] = {kind: set() for kind in formats.KINDS}
    for name in FORMAT_HINTS:
        for value in params.get(name, []):
            parts = [part for part in value.split(",") if part.strip()]  # a media type list
            if not parts:
                continue
            found = {
                kind: next((f for part in parts if (f := formats.resolve(part, kind))), None)
                for kind in formats.KINDS
            }
            if not any(found.values()):
                if name != "format":
                    continue
                raise errors.bad_request(
                    f"Unknown format {value!r}; use one of "
                    f"{', '.join(formats.BY_TOKEN)} or their media types."
                )
            for kind, fmt in found.items():
                if fmt is not None:
                    named[kind].add(fmt)
    for found in named.values():
        if len(found) > 1:
            raise errors.bad_request(
                "The format parameters name different formats: "
                f"{', '.join(sorted(f.token for f in found))}; name one."
            )
    return {kind: next(iter(found)) for kind, found in named.items() if found}


def result_formats(params: dict[str, list[str]]) -> tuple[str | None, str | None]:
    """Protocol 2.1.6/2.2.6 content negotiation for the current Flask request."""
    return negotiate_formats(params, request.headers.get("Accept"))


def negotiate_formats(params: dict[str, list[str]],
                      accept: str | None) -> tuple[str | None, str | None]:
    """Protocol 2.1.6/2.2.6 content negotiation: a fitting ``format`` wins, else ``accept``."""
    hints = format_hints(params)
    tabular = hints.get("tabular") or formats.choose(accept, "tabular")
    graph = hints.get("graph") or formats.choose(accept, "graph")
    if tabular is None and graph is None:
        raise errors.not_acceptable(
            f"None of the requested media types ({accept}) can be produced. SELECT/ASK: "
            f"{formats.offered('tabular')}; CONSTRUCT/DESCRIBE: {formats.offered('graph')}."
        )
    return (tabular.token if tabular else None, graph.token if graph else None)


def has_relative_iri(query: str) -> bool:
    """Whether an IRI reference outside strings and comments lacks a scheme (or may)."""
    if "<" not in query or not _MAYBE_RELATIVE.search(query):
        return False  # every IRI-shaped token, even in strings and comments, has a scheme
    return any(
        m.lastgroup == "iri" and not _ABSOLUTE_IRI.match(m.group())
        for m in _IRI_LEXER.finditer(query)
    )


def with_base(query: str) -> tuple[str, bool]:
    """SPARQL 1.1 Query 4.1.1.1: relative IRIs resolve against the endpoint's URL.

    The engine is given a BASE declaration on a line of its own before the query (the
    query's own BASE, if any, still applies after it); queries without relative IRIs are
    left untouched, so their cache keys and error positions do not depend on the Host.
    """
    if not has_relative_iri(query):
        return query, False
    from .service import endpoint_url

    return f"BASE <{endpoint_url()}>\n{query}", True


def examples_alias(
    query: str, params: dict[str, list[str]]
) -> tuple[str, dict[str, list[str]]]:
    """Answer the SPARQL examples graph under this endpoint's URL as the client addressed it.

    SIB's tools look for the examples in ``<endpoint URL>/.well-known/sparql-examples``; the
    release holds them under the endpoint's permanent IRI (kg.store.GRAPH_EXAMPLES, see
    kg.examples), so that IRI as an IRI token of the query or as a dataset parameter is
    rewritten to the stored one. Queries without the path are returned untouched.
    """
    if EXAMPLES_PATH not in query and not any(
        EXAMPLES_PATH in v for k in DATASET_PARAMS for v in params.get(k, ())
    ):
        return query, params
    if GRAPH_EXAMPLES not in runtime().engine.graphs:
        return query, params
    from .service import endpoint_url

    alias = endpoint_url() + EXAMPLES_PATH
    token = f"<{alias}>"
    query = _IRI_LEXER.sub(
        lambda m: f"<{GRAPH_EXAMPLES}>" if m.lastgroup == "iri" and m.group() == token
        else m.group(), query)
    params = {k: [GRAPH_EXAMPLES if k in DATASET_PARAMS and v == alias else v for v in vs]
              for k, vs in params.items()}
    return query, params


def _unshift(message: str) -> str:
    """Report parse-error lines as the client wrote them (without our BASE line)."""
    return _POSITION.sub(lambda m: f"{m.group(1)}{max(1, int(m.group(2)) - 1)}", message)


#: The WSGI environ key holding the monotonic time a request reached the app.
STARTED = "cytokg.started"


def _hangup(environ: dict[str, Any]) -> Hangup:
    """Tells the executor pool when this request's client has closed its connection."""
    return Hangup(environ.get(STARTED) or time.monotonic(), server_port(environ))


def _execute(job: Job, gone: Hangup | None = None, rt: Any = None) -> Reply:
    """Run a job in an executor within the time limit; errors become protocol errors."""
    rt = rt or runtime()
    settings = rt.settings
    try:
        reply = rt.pool.run(job, time.monotonic() + settings.time_limit, gone)
    except QueryAbandoned:
        raise errors.service_unavailable("Query stopped: its client closed the connection.") \
            from None
    except QueryTimeout:
        raise errors.service_unavailable(
            f"Query cancelled: it exceeded the time limit of {settings.time_limit:g} s."
        ) from None
    except PoolBusy:
        raise errors.service_unavailable(
            f"All query executors stayed busy for {settings.time_limit:g} s; retry later."
        ) from None
    except ExecutorCrashed:
        # Its process died (the memory cap, or killed): a fresh one is already in its place.
        raise errors.service_unavailable(
            "The query's process failed (it may have needed more memory than the limit of "
            f"{settings.memory_limit // 2**20} MiB allows); retry later or simplify the query."
        ) from None
    if reply.status != 200:
        raise errors.ProtocolError(reply.status, reply.message)
    return reply


def _cache_key(job: Job) -> tuple[Any, ...]:
    """The job as a tuple of plain values (the whole key: the served release never changes).

    Cache keys and entries are tuples of strings, bytes and numbers, which the garbage
    collector stops tracking, so a full cache adds nothing to a full collection's walk.
    """
    return (job.query, job.default_graphs, job.named_graphs, job.tabular_format,
            job.graph_format, job.row_limit)


def answer(rt: Any, job: Job, query: str, based: bool, environ: dict[str, Any]) -> Reply:
    """The reply to ``job``: from the response cache, else run within the limits and kept."""
    key = _cache_key(job)
    kept = rt.cache.get(key)
    if kept is not None:
        status, body, fmt, count, truncated = kept
        return Reply(status, body, fmt, count, truncated)
    gone = _hangup(environ)
    try:
        reply = _execute(job, gone, rt)
    except errors.ProtocolError as exc:
        if based and exc.status == 400:
            exc.message = _unshift(exc.message)
        raise
    finally:
        gone.release()
    if reply.status == 200 and not reply.headers:
        rt.cache.put(key, (reply.status, reply.body, reply.fmt, reply.count, reply.truncated),
                     len(reply.body) + len(query))
    return reply


def answer_headers(reply: Reply, row_limit: int | None) -> list[tuple[str, str]]:
    """The headers of a query answer after Content-Type and Content-Length."""
    headers = [("Vary", "Accept"), ("X-Result-Count", str(reply.count))]
    if reply.truncated:
        headers += [
            ("X-Result-Truncated", "true"),
            ("X-Result-Row-Limit", str(row_limit)),
            ("Warning", f'199 cytokg "Result truncated to the row limit of {row_limit}; '
                        'use LIMIT/OFFSET to page."'),
        ]
    return headers


def run_query(query: str, params: dict[str, list[str]]) -> Response:
    """Protocol 2.1.5-2.1.6: run the query within the limits and build the response."""
    rt = runtime()
    settings = rt.settings
    if not query.strip():
        raise errors.bad_request("The query is empty.")
    query, params = examples_alias(query, params)
    default, named = protocol_dataset(params, rt.engine.graphs)
    tabular, graph = result_formats(params)
    text, based = with_base(query)
    job = Job(text, default, named, tabular, graph, settings.row_limit)
    reply = answer(rt, job, query, based, request.environ)
    assert reply.fmt is not None
    fmt = formats.BY_TOKEN[reply.fmt]
    resp = Response(reply.body, status=200, content_type=formats.content_type(fmt))
    for name, value in answer_headers(reply, settings.row_limit):
        resp.headers[name] = value
    return resp


@bp.route("/sparql", methods=["GET", "POST"])
def sparql() -> Response:
    """Protocol 2.1 query operation; GET without a query gives the service description."""
    params, direct_query = collect_params()
    check_params(params)
    if direct_query is not None:
        return run_query(direct_query, params)
    if "query" not in params:
        if request.method == "GET" and set(params) <= {*FORMAT_HINTS, *IGNORED_PARAMS}:
            from .service import service_description

            return service_description()
        raise errors.bad_request("Missing 'query' parameter.")
    return run_query(params["query"][0], params)


StartResponse = Callable[..., Any]


def status_line(code: int) -> str:
    """The status line Flask (werkzeug) writes for ``code``, so both routes answer alike."""
    return f"{code} {HTTP_STATUS_CODES.get(code, 'unknown').upper()}"


class DirectQueries:
    """WSGI route answering ``GET /sparql?query=...`` ahead of Flask's dispatch.

    It takes only requests it fully understands: a GET of ``/sparql`` with a non-empty
    query, accepted parameters, a format that can be negotiated and no relative IRI (those
    resolve against the Host, which the Flask view validates).  Everything else, including
    each refusal found before the query runs, goes on to Flask, which answers it in full.
    Answers carry the same bytes, headers and access line as the Flask view's; the route
    saves Flask's request, routing and response objects on the common path.
    """

    def __init__(self, app: Flask, extra_headers: Iterable[tuple[str, str]],
                 log: AccessLog | None) -> None:
        """Route ahead of ``app``'s WSGI callable; ``extra_headers`` end every answer (CORS)."""
        self.next = app.wsgi_app
        self.rt = runtime(app)
        self.extra = list(extra_headers)
        self.log = log

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        """Answer a plain query GET here; pass every other request on to Flask."""
        environ[STARTED] = time.monotonic()
        if (environ.get("REQUEST_METHOD") != "GET" or environ.get("PATH_INFO") != "/sparql"
                or environ.get("SCRIPT_NAME")):
            return self.next(environ, start_response)
        prepared = self.prepare(environ)
        if prepared is None:
            return self.next(environ, start_response)
        job, query = prepared
        try:
            reply = answer(self.rt, job, query, False, environ)
        except errors.ProtocolError as exc:
            body = (exc.message.rstrip("\n") + "\n").encode("utf-8")
            headers = [("Content-Type", "text/plain; charset=utf-8"),
                       ("Content-Length", str(len(body))), *exc.headers.items()]
            return self.send(environ, start_response, exc.status, headers, body)
        assert reply.fmt is not None
        body = reply.body
        headers = [("Content-Type", formats.content_type(formats.BY_TOKEN[reply.fmt])),
                   ("Content-Length", str(len(body))),
                   *answer_headers(reply, self.rt.settings.row_limit)]
        return self.send(environ, start_response, 200, headers, body)

    def prepare(self, environ: dict[str, Any]) -> tuple[Job, str] | None:
        """The job and query of a request this route can answer, or None for Flask to handle."""
        raw = environ.get("QUERY_STRING", "")
        settings = self.rt.settings
        if "query=" not in raw or len(raw) > settings.url_limit:
            return None
        try:
            params: dict[str, list[str]] = {}
            pairs = fast_params(raw)
            if pairs is None:
                pairs = _decode_params(raw.encode("latin-1"), "URL query string")
            for name, value in pairs:
                params.setdefault(name, []).append(value)
            check_params(params)
            query = params["query"][0]
            if not query.strip() or has_relative_iri(query) or EXAMPLES_PATH in query:
                return None  # the Flask view resolves these against the Host
            default, named = protocol_dataset(params, self.rt.engine.graphs)
            tabular, graph = negotiate_formats(params, environ.get("HTTP_ACCEPT"))
        except (errors.ProtocolError, UnicodeError, KeyError):
            return None
        return Job(query, default, named, tabular, graph, settings.row_limit), query

    def send(self, environ: dict[str, Any], start_response: StartResponse, status: int,
             headers: list[tuple[str, str]], body: bytes) -> list[bytes]:
        """Start the response, write the access line and hand Granian the body in one piece."""
        start_response(status_line(status), headers + self.extra)
        if self.log is not None:
            self.log.write(environ.get("REMOTE_ADDR") or "-", "GET", "/sparql",
                           environ.get("QUERY_STRING", ""), status, len(body),
                           time.monotonic() - environ[STARTED])
        return [body]
