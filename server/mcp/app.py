"""Build the MCP server over a loaded release and run it over stdio or streamable HTTP."""

from __future__ import annotations

import argparse
import signal
import socket
import sys
from pathlib import Path

from mcp.server import MCPServer

from server.settings import Settings

from . import prompts, resources, tools
from .runtime import Runtime, load

INSTRUCTIONS = (
    "The Cytokine Knowledge Graph: cytokines, their chains and receptors, the cells that make "
    "and sense them, their signalling, diseases and the drugs acting on them, every asserted "
    "statement with its sources. Find terms with search_terms before anything else, read a "
    "term with describe_term, use find_drugs and find_pairs for drugs and ligand-receptor "
    "pairs, explain for why an inferred statement holds, and list_examples / run_sparql for "
    "the rest. Cite the sources the tools return."
)


def settings_from(release_dir: Path, args: argparse.Namespace) -> Settings:
    """The serving settings of ``cytokg mcp``: the endpoint's, from the command line."""
    return Settings(
        release_dir=Path(release_dir),
        engine=args.engine,
        time_limit=args.time_limit,
        row_limit=args.row_limit,
        executors=args.executors,
        memory_limit=args.memory_limit,
        queries_dir=Path(args.queries_dir) if args.queries_dir else Settings().queries_dir,
        store=args.store,
        access_log=False,
        cache_bytes=0,
    )


def create_server(rt: Runtime) -> MCPServer:
    """The MCP server with every tool, resource and prompt bound to the runtime."""
    mcp: MCPServer = MCPServer("cytokg", title="Cytokine Knowledge Graph", version=rt.version,
                               instructions=INSTRUCTIONS, log_level="WARNING")
    tools.register(mcp, rt)
    resources.register(mcp, rt)
    prompts.register(mcp)
    return mcp


def serve(release_dir: Path, args: argparse.Namespace) -> int:
    """Load the release, start the query processes, and serve until the client or a signal
    ends it; the processes are killed on the way out."""
    rt = load(settings_from(release_dir, args))
    mcp = create_server(rt)
    listener = bind(args.host, args.port) if args.http else None
    rt.pool.start()  # fork the executors before any server thread exists
    try:
        if listener is None:
            mcp.run("stdio")
        else:
            run_http(mcp, listener, args.host)
    finally:
        rt.pool.close()
        if listener is not None:
            listener.close()
    return 0


def bind(host: str, port: int) -> socket.socket:
    """Listen on host:port (0: a free port), so the address can be announced before serving."""
    info = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
    sock = socket.socket(info[0], socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(info[4])
    except OSError as exc:
        sock.close()
        raise OSError(exc.errno, f"cannot listen on {host}:{port}: {exc.strerror}") from None
    sock.listen(128)
    return sock


def run_http(mcp: MCPServer, listener: socket.socket, host: str) -> None:
    """Serve streamable HTTP at /mcp on the bound socket with uvicorn."""
    import anyio
    import uvicorn

    app = mcp.streamable_http_app(host=host)
    address, port = listener.getsockname()[:2]
    shown = f"[{address}]" if ":" in address else address
    print(f"cytokg mcp: streamable HTTP at http://{shown}:{port}/mcp", file=sys.stderr,
          flush=True)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    # uvicorn shuts down gracefully on SIGTERM, then raises the signal again under the handler
    # it found: with this one the process goes on to stop its executors and exits 0.
    previous = signal.signal(signal.SIGTERM, lambda *_: None)
    try:
        anyio.run(lambda: server.serve(sockets=[listener]))
    finally:
        signal.signal(signal.SIGTERM, previous)
