"""The options of ``cytokg mcp``, declared without importing the MCP SDK or the store."""

from __future__ import annotations

import argparse
from pathlib import Path

from server.settings import Settings

#: Query processes per MCP server: one assistant rarely asks more than two things at once.
DEFAULT_EXECUTORS = 2


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the transport, limit and release options of ``cytokg mcp`` to a CLI parser."""
    d = Settings()
    group = parser.add_argument_group("MCP server")
    group.add_argument("--http", action="store_true",
                       help="serve streamable HTTP at http://HOST:PORT/mcp instead of stdio")
    group.add_argument("--host", default="127.0.0.1",
                       help="address to bind with --http (default 127.0.0.1, loopback only)")
    group.add_argument("--port", type=int, default=8001,
                       help="TCP port with --http; 0 picks a free one, printed on stderr "
                            "(default 8001)")
    group.add_argument("--time-limit", type=float, default=d.time_limit,
                       help=f"seconds a tool's queries may run before they are killed "
                            f"(default {d.time_limit:g})")
    group.add_argument("--row-limit", type=int, default=d.row_limit,
                       help=f"rows/triples run_sparql and run_example return before truncating "
                            f"(default {d.row_limit})")
    group.add_argument("--memory-limit", type=int, default=d.memory_limit,
                       help=f"bytes a query process may allocate beyond the store "
                            f"(default {d.memory_limit})")
    group.add_argument("--executors", type=int, default=DEFAULT_EXECUTORS,
                       help=f"query processes (default {DEFAULT_EXECUTORS})")
    group.add_argument("--engine", default=d.engine, choices=("oxigraph", "rdflib"),
                       help="query engine")
    group.add_argument("--store", default=None, metavar="STORE",
                       help="memory (default), oxigraph:PATH or sparql:URL, as for serve")
    group.add_argument("--queries-dir", type=Path, default=None,
                       help="competency questions offered as examples when the release has "
                            "no examples.ttl (default: the project's queries/)")
    group.add_argument("--no-build", action="store_true",
                       help="serve the release in --out as it is, without checking the sources")
