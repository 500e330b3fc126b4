"""Production serving under Granian: preloaded store, forked workers, graceful SIGTERM.

Granian parses HTTP in Rust and calls our WSGI app from a pool of request threads per
worker; measured side by side, it served 1.4-1.9x the uncached and 2.2-3.2x the cached
requests per second of gunicorn's threaded workers (see the README's performance section).
"""

from __future__ import annotations

import argparse
import gc
import sys
from functools import partial
from multiprocessing.util import Finalize
from pathlib import Path

from flask import Flask
from granian.constants import HTTPModes, Interfaces
from granian.http import HTTP1Settings
from granian.log import LogLevels
from granian.server import Server as Granian

from kg.integrity import ReleaseError

from .app import create_app, runtime
from .options import PortInUse, add_arguments, refuse_busy_port
from .settings import Settings


def _http1(settings: Settings, args: argparse.Namespace) -> HTTP1Settings:
    """HTTP/1.1 limits: slow headers time out, and the read buffer bounds one request's head."""
    return HTTP1Settings(
        header_read_timeout=int(args.header_timeout * 1000),
        keep_alive=True,
        # The head (request line + headers) must fit; bodies are bounded by MAX_CONTENT_LENGTH.
        max_buffer_size=max(65_536, settings.url_limit + 16_384),
    )


def granian_server(settings: Settings, args: argparse.Namespace) -> Granian:
    """Granian (a Rust HTTP server) running our WSGI app in forked workers with request threads."""
    return Granian(
        target="cytokg",  # a label only: workers get the preloaded app from the loader
        address=args.host,
        port=args.port,
        interface=Interfaces.WSGI,
        http=HTTPModes.http1,
        http1_settings=_http1(settings, args),
        websockets=False,
        workers=args.workers,
        # The slow lane's demoted queries hold request threads of their own, beyond --threads.
        blocking_threads=args.threads + max(0, settings.slow_lane),
        backlog=args.backlog,
        log_level=LogLevels.info,
        log_access=False,  # the app writes its own access lines to stderr
        respawn_failed_workers=True,  # a killed worker is replaced, as gunicorn's arbiter did
        respawn_interval=0.5,
        workers_kill_timeout=max(1, round(args.graceful_timeout)),
    )


def worker_app(app: Flask) -> Flask:
    """Runs in each forked worker before it serves: start its executors, stop them at its exit.

    The worker inherits the loaded store copy-on-write (the app was built before forking), so
    executors fork from a process that has started no server threads yet.
    """
    pool = runtime(app).pool
    pool.start()
    # multiprocessing runs its finalizers (not atexit) when a forked worker exits.
    Finalize(pool, pool.close, exitpriority=10)
    return app


def serve(release_dir: Path, args: argparse.Namespace) -> int:
    """Load the release and serve it with Granian until SIGTERM/SIGINT; return the exit code."""
    executors = args.executors if args.executors else args.threads
    settings = Settings(
        release_dir=Path(release_dir),
        engine=args.engine,
        time_limit=args.time_limit,
        body_limit=args.body_limit,
        url_limit=args.url_limit,
        row_limit=args.row_limit,
        executors=executors,
        base_iri=args.base_iri,
        memory_limit=args.memory_limit,
        queries_dir=args.queries_dir or Settings().queries_dir,
        store=args.store,
        cache_bytes=args.cache_bytes,
        slow_after=args.slow_after,
        slow_lane=args.slow_lane,
    )
    refuse_busy_port(args.host, args.port)  # before loading: a busy port fails fast
    app = create_app(settings)  # loads and verifies the release before any port is bound
    # What the release loaded lives as long as the server: out of the collector's sight, a full
    # collection no longer walks it (it took about 250 ms, a stall of every request thread),
    # and forked workers and executors do not copy its pages by touching them.
    gc.collect()
    gc.freeze()
    try:
        granian_server(settings, args).serve(target_loader=partial(worker_app, app),
                                             wrap_loader=False)
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
    except (ReleaseError, PortInUse) as exc:  # a bad release file or a busy port: say which
        print(f"server: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
