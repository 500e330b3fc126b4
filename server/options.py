"""The serving options of ``cytokg serve`` and ``python -m server.run``, without loading Flask."""

from __future__ import annotations

import argparse
from pathlib import Path

from .settings import Settings


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
        "--url-limit",
        type=int,
        default=d.url_limit,
        help=f"maximum GET query string in bytes, else 414 (default {d.url_limit})",
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
    group.add_argument(
        "--header-timeout",
        type=float,
        default=30.0,
        help="seconds a client may take to send its request headers (default 30)",
    )
    group.add_argument(
        "--backlog", type=int, default=1024, help="pending TCP connections (default 1024)"
    )
