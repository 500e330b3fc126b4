"""The Flask application factory (flaskr-style): load the release once, register blueprints."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, Response

from kg.store import QueryEngine

from . import accesslog, errors
from .cache import BoundedLRU, CachedQueryGets, ResponseCache
from .limits import ExecutorPool
from .release import open_release
from .settings import Settings

#: CORS: the endpoint is public and read-only, so any origin may call it.
CORS_HEADERS: tuple[tuple[str, str], ...] = (
    ("Access-Control-Allow-Origin", "*"),
    ("Access-Control-Allow-Methods", "GET, POST, OPTIONS"),
    ("Access-Control-Allow-Headers", "Accept, Content-Type"),
    ("Access-Control-Expose-Headers", "X-Result-Truncated, X-Result-Row-Limit, X-Result-Count, "
     "Warning"),
)


@dataclass
class Runtime:
    """Everything loaded once per app from the release: store, executors, metadata."""

    settings: Settings
    engine: QueryEngine
    pool: ExecutorPool
    manifest: dict[str, Any]
    void_ttl: str
    #: Service descriptions by (endpoint URL, media type); the URL follows the client's Host.
    description_cache: BoundedLRU[bytes] = field(default_factory=lambda: BoundedLRU(32))
    cache: ResponseCache[Any] = field(default_factory=lambda: ResponseCache(0))


def runtime(app: Flask | None = None) -> Runtime:
    """The current app's runtime, so views need no globals."""
    from flask import current_app

    return (app or current_app).extensions["cytokg"]  # type: ignore[no-any-return]


def create_app(settings: Settings | Mapping[str, Any] | None = None) -> Flask:
    """Load the release once and build the app (flaskr-style factory)."""
    if settings is None:
        settings = Settings.from_env()
    elif not isinstance(settings, Settings):
        settings = Settings.from_mapping(settings)
    opened = open_release(settings)  # refuses a missing, partial or altered release
    engine = opened.engine

    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = settings.body_limit
    app.extensions["cytokg"] = Runtime(
        settings=settings,
        engine=engine,
        pool=ExecutorPool(engine, settings.executors, settings.memory_limit,
                          slow_after=settings.slow_after, slow_lane=settings.slow_lane),
        manifest=opened.manifest,
        void_ttl=opened.void_ttl,
        cache=ResponseCache(settings.cache_bytes),
    )
    errors.register(app)

    from . import pages, service, sparql

    app.register_blueprint(sparql.bp)
    app.register_blueprint(service.bp)
    pages.init_app(app)  # term pages, search, query page, downloads, docs (after the fixed routes)

    log = accesslog.AccessLog() if settings.access_log else None
    hit_log = accesslog.init_app(app, log) if log is not None else None
    # Plain query GETs skip Flask's dispatch (same answers: see sparql.DirectQueries) ...
    # The Flask view's answers end with the CORS headers, then pages' no-sniff header.
    direct_headers = (*CORS_HEADERS, ("X-Content-Type-Options", "nosniff"))
    app.wsgi_app = sparql.DirectQueries(app, direct_headers, log)  # type: ignore[method-assign]
    # ... and repeated ones are answered from the response cache before that (exact: see cache).
    app.wsgi_app = CachedQueryGets(  # type: ignore[method-assign]
        app.wsgi_app, app.extensions["cytokg"].cache, hit_log
    )

    @app.after_request
    def _cors(resp: Response) -> Response:
        for name, value in CORS_HEADERS:
            resp.headers[name] = value
        return resp

    return app
