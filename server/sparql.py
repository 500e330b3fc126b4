"""The SPARQL 1.1 Protocol query operation at /sparql (https://www.w3.org/TR/sparql11-protocol/)."""

from __future__ import annotations

import time
from urllib.parse import parse_qsl

from flask import Blueprint, Response, request

from . import errors, formats, runtime
from .limits import ExecutorCrashed, Job, PoolBusy, QueryTimeout, Reply

bp = Blueprint("sparql", __name__)

QUERY_PARAMS = frozenset({"query", "default-graph-uri", "named-graph-uri", "format"})
UPDATE_PARAMS = frozenset({"update", "using-graph-uri", "using-named-graph-uri"})
SINGLE_PARAMS = ("query", "format")


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
    """Refuse update parameters, unknown parameters and repeated single-valued ones."""
    update = sorted(UPDATE_PARAMS & params.keys())
    if update:
        raise errors.forbidden(
            f"SPARQL Update is not supported: this endpoint is read-only (got {', '.join(update)})."
        )
    unknown = sorted(params.keys() - QUERY_PARAMS)
    if unknown:
        raise errors.bad_request(
            f"Unknown parameter(s): {', '.join(unknown)}. "
            f"Allowed: {', '.join(sorted(QUERY_PARAMS))}."
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


def result_formats(params: dict[str, list[str]]) -> tuple[str | None, str | None]:
    """Protocol 2.1.6/2.2.6 content negotiation: a format parameter wins over Accept."""
    if "format" in params:
        fmt = formats.lookup(params["format"][0])
        if fmt is None:
            raise errors.bad_request(
                f"Unknown format {params['format'][0]!r}; use one of "
                f"{', '.join(formats.BY_TOKEN)} or their media types."
            )
        return (fmt.token, None) if fmt.kind == "tabular" else (None, fmt.token)
    accept = request.headers.get("Accept")
    tabular = formats.choose(accept, "tabular")
    graph = formats.choose(accept, "graph")
    if tabular is None and graph is None:
        raise errors.not_acceptable(
            f"None of the requested media types ({accept}) can be produced. SELECT/ASK: "
            f"{formats.offered('tabular')}; CONSTRUCT/DESCRIBE: {formats.offered('graph')}."
        )
    return (tabular.token if tabular else None, graph.token if graph else None)


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
    job = Job(query, default, named, tabular, graph, settings.row_limit)
    reply = rt.cache.get(job)  # exact: the release is immutable and the job is the whole key
    if reply is None:
        reply = _execute(job)
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
        if request.method == "GET" and set(params) <= {"format"}:
            from .service import service_description

            return service_description()
        raise errors.bad_request("Missing 'query' parameter.")
    return run_query(params["query"][0], params)
