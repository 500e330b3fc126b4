"""Flask application factory for the cytokg SPARQL endpoint (read-only, over one release)."""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from flask import Flask, Response, g, request

from kg.integrity import verify_release
from kg.store import QueryEngine, open_store

from . import errors
from .cache import CachedQueryGets, ResponseCache
from .limits import ExecutorPool

access_log = logging.getLogger("cytokg.access")


@dataclass
class Settings:
    """Server settings; every limit here is documented in the README and set by CLI flags."""

    release_dir: Path = Path("build")
    engine: str = "oxigraph"
    time_limit: float = 10.0  # seconds per query, including waiting for a free executor
    body_limit: int = 1_000_000  # bytes per request body (and per GET query string)
    row_limit: int = 10_000  # rows (SELECT) or triples (CONSTRUCT/DESCRIBE) per response
    executors: int = 4  # query processes per server process
    access_log: bool = True
    base_iri: str = "https://w3id.org/cytokg/"  # namespace whose IRIs resolve at this server's root
    queries_dir: Path = Path("queries")  # competency questions shown as examples on /query
    store: str | None = None  # None: release in memory; "oxigraph:PATH" or "sparql:URL"
    cache_bytes: int = 64_000_000  # response cache per server process (0 disables)
    memory_limit: int = 1 << 30  # bytes a query process may allocate beyond the loaded store

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> Settings:
        """Build settings from a dict, ignoring keys that are not settings."""
        names = {f.name for f in fields(cls)}
        known = {k: v for k, v in values.items() if k in names}
        for name in ("release_dir", "queries_dir"):
            if name in known:
                known[name] = Path(known[name])
        return cls(**known)

    @classmethod
    def from_env(cls) -> Settings:
        """Read CYTOKG_* environment variables so ``flask --app server run`` is configurable."""
        env = os.environ
        s = cls()
        s.release_dir = Path(env.get("CYTOKG_RELEASE_DIR", str(s.release_dir)))
        s.engine = env.get("CYTOKG_ENGINE", s.engine)
        s.time_limit = float(env.get("CYTOKG_TIME_LIMIT", s.time_limit))
        s.body_limit = int(env.get("CYTOKG_BODY_LIMIT", s.body_limit))
        s.row_limit = int(env.get("CYTOKG_ROW_LIMIT", s.row_limit))
        s.executors = int(env.get("CYTOKG_EXECUTORS", s.executors))
        s.base_iri = env.get("CYTOKG_BASE_IRI", s.base_iri)
        s.queries_dir = Path(env.get("CYTOKG_QUERIES_DIR", str(s.queries_dir)))
        s.store = env.get("CYTOKG_STORE") or s.store
        s.cache_bytes = int(env.get("CYTOKG_CACHE_BYTES", s.cache_bytes))
        s.memory_limit = int(env.get("CYTOKG_MEMORY_LIMIT", s.memory_limit))
        return s


@dataclass
class Runtime:
    """Everything loaded once per app from the release: store, executors, metadata."""

    settings: Settings
    engine: QueryEngine
    pool: ExecutorPool
    manifest: dict[str, Any]
    void_ttl: str
    description_cache: dict[tuple[str, str], tuple[bytes, str]] = field(default_factory=dict)
    cache: ResponseCache[Any] = field(default_factory=lambda: ResponseCache(0))


def runtime(app: Flask | None = None) -> Runtime:
    """The current app's runtime, so views need no globals."""
    from flask import current_app

    return (app or current_app).extensions["cytokg"]  # type: ignore[no-any-return]


def _setup_access_log() -> None:
    """Send access lines to stderr unless logging was configured elsewhere."""
    if not access_log.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        access_log.addHandler(handler)
        access_log.setLevel(logging.INFO)
        access_log.propagate = False


def create_app(settings: Settings | Mapping[str, Any] | None = None) -> Flask:
    """Load the release once and build the app (flaskr-style factory)."""
    if settings is None:
        settings = Settings.from_env()
    elif not isinstance(settings, Settings):
        settings = Settings.from_mapping(settings)
    release = Path(settings.release_dir)
    manifest = verify_release(release)  # refuse a missing, partial or altered release
    void_ttl = (release / "void.ttl").read_text(encoding="utf-8")
    engine = open_store(release, settings.engine, settings.store)

    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = settings.body_limit
    app.extensions["cytokg"] = Runtime(
        settings=settings,
        engine=engine,
        pool=ExecutorPool(engine, settings.executors, settings.memory_limit),
        manifest=manifest,
        void_ttl=void_ttl,
        cache=ResponseCache(settings.cache_bytes),
    )
    errors.register(app)

    from . import pages, service, sparql

    app.register_blueprint(sparql.bp)
    app.register_blueprint(service.bp)
    pages.init_app(app)  # term pages, search, query page, downloads, docs (after the fixed routes)

    if settings.access_log:
        _setup_access_log()

    def _log_hit(environ: dict[str, Any], status: str, size: int, took: float) -> None:
        path = environ.get("PATH_INFO", "") + "?" + environ.get("QUERY_STRING", "")
        access_log.info(
            '%s "GET %s" %s %d %.1fms',
            environ.get("REMOTE_ADDR") or "-",
            path if len(path) < 300 else environ.get("PATH_INFO", ""),
            status.split(" ", 1)[0],
            size,
            took * 1000,
        )

    # Repeated GET queries are answered from the response cache before Flask (exact: see cache).
    app.wsgi_app = CachedQueryGets(  # type: ignore[method-assign]
        app.wsgi_app, app.extensions["cytokg"].cache, _log_hit if settings.access_log else None
    )

    @app.before_request
    def _start_clock() -> None:
        g.started = time.monotonic()

    @app.after_request
    def _cors_and_log(resp: Response) -> Response:
        # CORS: the endpoint is public and read-only, so any origin may call it.
        resp.headers["Access-Control-Allow-Origin"] = "*"
        resp.headers["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
        resp.headers["Access-Control-Allow-Headers"] = "Accept, Content-Type"
        resp.headers["Access-Control-Expose-Headers"] = (
            "X-Result-Truncated, X-Result-Row-Limit, X-Result-Count, Warning"
        )
        if settings.access_log:
            took = (time.monotonic() - g.get("started", time.monotonic())) * 1000
            access_log.info(
                '%s "%s %s" %d %s %.1fms',
                request.remote_addr or "-",
                request.method,
                request.full_path.rstrip("?") if len(request.full_path) < 300 else request.path,
                resp.status_code,
                resp.content_length if resp.content_length is not None else "-",
                took,
            )
        return resp

    return app
