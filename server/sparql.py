"""The SPARQL 1.1 Protocol query operation at /sparql (https://www.w3.org/TR/sparql11-protocol/)."""

from __future__ import annotations

import re
import time
from urllib.parse import parse_qsl

from flask import Blueprint, Response, request

from . import errors, formats, runtime
from .limits import ExecutorCrashed, Job, PoolBusy, QueryTimeout, Reply

bp = Blueprint("sparql", __name__)

QUERY_PARAMS = frozenset({"query", "default-graph-uri", "named-graph-uri", "format"})
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
    """Protocol 2.1.6/2.2.6 content negotiation: a fitting ``format`` wins, else Accept."""
    hints = format_hints(params)
    accept = request.headers.get("Accept")
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


def _unshift(message: str) -> str:
    """Report parse-error lines as the client wrote them (without our BASE line)."""
    return _POSITION.sub(lambda m: f"{m.group(1)}{max(1, int(m.group(2)) - 1)}", message)


def _execute(job: Job) -> Reply:
    """Run a job in an executor within the time limit; errors become protocol errors."""
    rt = runtime()
    settings = rt.settings
    try:
        reply = rt.pool.run(job, time.monotonic() + settings.time_limit)
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


def run_query(query: str, params: dict[str, list[str]]) -> Response:
    """Protocol 2.1.5-2.1.6: run the query within the limits and build the response."""
    rt = runtime()
    settings = rt.settings
    if not query.strip():
        raise errors.bad_request("The query is empty.")
    default, named = protocol_dataset(params, rt.engine.graphs)
    tabular, graph = result_formats(params)
    text, based = with_base(query)
    job = Job(text, default, named, tabular, graph, settings.row_limit)
    reply = rt.cache.get(job)  # exact: the release is immutable and the job is the whole key
    if reply is None:
        try:
            reply = _execute(job)
        except errors.ProtocolError as exc:
            if based and exc.status == 400:
                exc.message = _unshift(exc.message)
            raise
        if reply.status == 200:
            rt.cache.put(job, reply, len(reply.body) + len(query))
    assert reply.fmt is not None
    fmt = formats.BY_TOKEN[reply.fmt]
    resp = Response(reply.body, status=200, content_type=formats.content_type(fmt))
    resp.headers["Vary"] = "Accept"
    resp.headers["X-Result-Count"] = str(reply.count)
    if reply.truncated:
        resp.headers["X-Result-Truncated"] = "true"
        resp.headers["X-Result-Row-Limit"] = str(settings.row_limit)
        resp.headers["Warning"] = (
            f'199 cytokg "Result truncated to the row limit of {settings.row_limit}; '
            'use LIMIT/OFFSET to page."'
        )
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
