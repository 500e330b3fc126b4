"""The serving options of ``cytokg serve`` and ``python -m server.run``, without loading Flask.

Also the check that the chosen port is free, which runs before anything slow is loaded or built.
"""

from __future__ import annotations

import argparse
import errno
import socket
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
        "--slow-after",
        type=float,
        default=d.slow_after,
        help=f"CPU seconds after which a running query is demoted to the lowest CPU priority "
        f"and the slow lane, so normal queries keep a free executor (default "
        f"{d.slow_after:g}; 0 never demotes)",
    )
    group.add_argument(
        "--slow-lane",
        type=int,
        default=d.slow_lane,
        help=f"demoted queries per server process that get a process and request thread of "
        f"their own beyond --executors and --threads (default {d.slow_lane})",
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


#: Where a client that asks for "localhost" may connect, whichever address a server is bound to.
LOOPBACKS = ("127.0.0.1", "::1")
WILDCARDS = ("", "0.0.0.0", "::")


class PortInUse(Exception):
    """Another process already listens on the port `cytokg serve` was asked to use."""

    def __init__(self, port: int, where: str) -> None:
        self.port = port
        shown = f"[{where}]" if ":" in where else where
        super().__init__(f"port {port} is already in use ({shown}:{port} has a listener, perhaps "
                         f"an older server); stop it or choose another port with --port")


def refuse_busy_port(host: str, port: int) -> None:
    """Raise PortInUse if another process listens where this server would take traffic.

    Granian binds with SO_REUSEPORT, so a second server silently shares a port with the first
    and an old release keeps answering part of the requests: check before anything is built.
    A bind with SO_REUSEADDR only (no SO_REUSEPORT) fails exactly when a socket listens on the
    address (old connections in TIME_WAIT do not count); for a loopback or wildcard host a
    connection attempt to each loopback address also finds a server on the other IP version,
    which "localhost" clients may reach instead of ours.
    """
    if port == 0:  # the kernel picks a free port
        return
    where = _unbindable(host, port)
    if where is None and (host in WILDCARDS or host in LOOPBACKS or host == "localhost"):
        where = next((address for address in LOOPBACKS if _accepts(address, port)), None)
    if where is not None:
        raise PortInUse(port, where)


def _unbindable(host: str, port: int) -> str | None:
    """The address of `host` that another socket holds for `port`, or None if all are free."""
    try:
        addresses = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM,
                                       flags=socket.AI_PASSIVE)
    except socket.gaierror:
        return None  # an unknown host: the server itself reports it
    for family, kind, proto, _, address in addresses:
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(address)
            except OSError as exc:
                if exc.errno == errno.EADDRINUSE:
                    return str(address[0])
    return None


def _accepts(address: str, port: int) -> bool:
    """Whether something accepts TCP connections at address:port (refused or unreachable: no)."""
    try:
        with socket.create_connection((address, port), timeout=1):
            return True
    except OSError:
        return False
