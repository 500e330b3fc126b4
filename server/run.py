"""Production serving under gunicorn: preloaded store, several workers, graceful SIGTERM."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication

from kg.integrity import ReleaseError

from . import Settings, create_app, runtime


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add serving options to a CLI parser (used by ``cytokg serve``)."""
    d = Settings()
    group = parser.add_argument_group("SPARQL endpoint")
    group.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    group.add_argument("--port", type=int, default=8000, help="TCP port (default 8000)")
    group.add_argument("--workers", type=int, default=2, help="server processes (default 2)")
    group.add_argument(
        "--threads", type=int, default=4, help="request threads per server process (default 4)"
    )
    group.add_argument(
        "--executors",
        type=int,
        default=None,
        help="query executor processes per server process (default: --threads)",
    )
    group.add_argument(
        "--time-limit",
        type=float,
        default=d.time_limit,
        help=f"seconds a query may run before it is killed with 503 (default {d.time_limit:g})",
    )
    group.add_argument(
        "--row-limit",
        type=int,
        default=d.row_limit,
        help=f"rows/triples per response before truncation (default {d.row_limit})",
    )
    group.add_argument(
        "--body-limit",
        type=int,
        default=d.body_limit,
        help=f"maximum request body in bytes, else 413 (default {d.body_limit})",
    )
    group.add_argument(
        "--engine", default=d.engine, choices=("oxigraph", "rdflib"), help="query engine"
    )
    group.add_argument(
        "--memory-limit",
        type=int,
        default=d.memory_limit,
        help=f"bytes a query process may allocate beyond the store, else 503 "
        f"(default {d.memory_limit})",
    )
    group.add_argument(
        "--base-iri",
        default=d.base_iri,
        help=f"namespace whose IRIs resolve at this server's root (default {d.base_iri})",
    )
    group.add_argument(
        "--queries-dir",
        type=Path,
        default=None,
        help="competency questions shown on /query (default: the project's queries/)",
    )
    group.add_argument(
        "--store",
        default=None,
        metavar="STORE",
        help="where the graphs live: memory (default: the release loaded in memory), "
        "oxigraph:PATH (an on-disk store at PATH, loaded once from the release) or "
        "sparql:URL (a remote SPARQL endpoint holding our graphs; see cytokg publish)",
    )
    group.add_argument(
        "--cache-bytes",
        type=int,
        default=d.cache_bytes,
        help=f"response cache per server process in bytes, 0 disables (default {d.cache_bytes})",
    )
    group.add_argument(
        "--graceful-timeout",
        type=float,
        default=15.0,
        help="seconds in-flight requests get after SIGTERM (default 15)",
    )


class _Gunicorn(BaseApplication):  # type: ignore[misc]
    """Gunicorn application around an app object that is already loaded (preloaded)."""

    def __init__(self, app: Flask, options: dict[str, Any]) -> None:
        """Keep the app and options before gunicorn reads its configuration."""
        self.application = app
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        """Apply our options to gunicorn's configuration."""
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Flask:
        """Return the loaded app; every worker inherits it (and its store) by fork."""
        return self.application


def _post_fork(server: Any, worker: Any) -> None:
    """Start this worker's executor processes, forked from the worker after it forks."""
    runtime(worker.app.application).pool.start()


def _worker_exit(server: Any, worker: Any) -> None:
    """Kill this worker's executors when it exits (SIGTERM, restart)."""
    runtime(worker.app.application).pool.close()


def gunicorn_options(settings: Settings, args: argparse.Namespace) -> dict[str, Any]:
    """Gunicorn configuration for our settings and CLI arguments."""
    return {
        "bind": f"{args.host}:{args.port}",
        "workers": args.workers,
        "worker_class": "gthread",
        "threads": args.threads,
        "preload_app": True,
        # Our own executors enforce the query time limit; gunicorn's timeout only
        # catches a wedged worker, so it sits well above the query limit.
        "timeout": int(settings.time_limit) + 30,
        "graceful_timeout": max(1, round(args.graceful_timeout)),
        "accesslog": None,  # the app writes its own access lines to stderr
        "errorlog": "-",
        "loglevel": "info",
        "limit_request_line": 8190,
        "proc_name": "cytokg-sparql",
        "post_fork": _post_fork,
        "worker_exit": _worker_exit,
    }


def serve(release_dir: Path, args: argparse.Namespace) -> int:
    """Load the release and serve it with gunicorn until SIGTERM/SIGINT; return the exit code."""
    executors = args.executors if args.executors else args.threads
    settings = Settings(
        release_dir=Path(release_dir),
        engine=args.engine,
        time_limit=args.time_limit,
        body_limit=args.body_limit,
        row_limit=args.row_limit,
        executors=executors,
        base_iri=args.base_iri,
        memory_limit=args.memory_limit,
        queries_dir=args.queries_dir or Settings().queries_dir,
        store=args.store,
        cache_bytes=args.cache_bytes,
    )
    app = create_app(settings)
    try:
        _Gunicorn(app, gunicorn_options(settings, args)).run()
    except SystemExit as exc:
        return int(exc.code or 0) if not isinstance(exc.code, str) else 1
    return 0


def main(argv: list[str] | None = None) -> int:
    """``python -m server.run RELEASE_DIR [options]``, for use without the kg CLI."""
    parser = argparse.ArgumentParser(description="Serve a cytokg release over SPARQL.")
    parser.add_argument("release_dir", type=Path, nargs="?", default=Path("build"))
    add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        return serve(args.release_dir, args)
    except ReleaseError as exc:  # a missing or altered release file: say which, never serve it
        print(f"server: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
