"""Start and stop the servers the benchmark compares, each in its own process group on loopback.

Ours (``cytokg serve``), the Oxigraph server (``oxigraph serve`` from the PyPI package
``oxigraph``, loaded through the Graph Store Protocol with ``kg.publish``) and
rdflib-endpoint (PyPI ``rdflib-endpoint``) are started by the benchmark itself and
always stopped afterwards, even when a run fails.
"""

from __future__ import annotations

import contextlib
import os
import resource
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from benchmarks.client import fetch, query_path

BIN = Path(sys.executable).parent
PROBE = "ASK { ?s ?p ?o }"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def tool(name: str) -> str:
    """Path of a console script installed beside this Python (the project venv)."""
    path = BIN / name
    if not path.exists():
        raise FileNotFoundError(f"{name} is not installed in {BIN}; pip install the bench extra")
    return str(path)


@dataclass
class Server:
    """A running server: its name, port, SPARQL path, process and measured start time."""

    name: str
    port: int
    endpoint: str
    proc: subprocess.Popen[bytes]
    started_in: float = 0.0

    def stop(self, timeout: float = 20.0) -> None:
        """SIGTERM the process group, then SIGKILL it if it outlives ``timeout``."""
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        with contextlib.suppress(ProcessLookupError):  # stragglers of the group
            os.killpg(self.proc.pid, signal.SIGKILL)


def _address_cap(limit: int | None) -> Callable[[], None] | None:
    """A pre-exec hook capping the child's address space at ``limit`` bytes (None: no cap)."""
    if not limit:
        return None

    def cap() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    return cap


def _spawn(argv: Sequence[str], log: Path, cwd: Path, memory_cap: int | None = None,
           env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    """Start ``argv`` in a new session with output to ``log``, its memory capped if asked."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        return subprocess.Popen(
            list(argv), cwd=cwd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            preexec_fn=_address_cap(memory_cap), env=env,
        )


def wait_ready(server: Server, t0: float, timeout: float, probe: str = PROBE) -> float:
    """Poll until ``probe`` answers 200 and return the seconds since ``t0``."""
    path = query_path(server.endpoint, probe)
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        if server.proc.poll() is not None:
            raise RuntimeError(f"{server.name} exited with {server.proc.returncode}")
        try:
            if fetch(server.port, path).status == 200:
                return time.perf_counter() - t0
        except OSError:
            pass
        time.sleep(0.01)
    raise TimeoutError(f"{server.name} did not answer within {timeout:g} s")


def start_ours(
    root: Path, logs: Path, extra: Sequence[str] = (), probe: str = PROBE, timeout: float = 120,
    release: Path | None = None, code: Path | None = None, name: str = "cytokg",
) -> Server:
    """``cytokg serve`` on a free port; ``started_in`` is the cold start to the first answer.

    With ``release``, that release is served as it is (``python -m server.run``, no build), so a
    run is not disturbed by sources that change meanwhile.  With ``code`` as well, the
    ``server`` package is taken from that directory (an older version, to compare with).
    """
    port = free_port()
    if release is None:
        argv = [tool("cytokg"), "--root", str(root), "serve", "--port", str(port), *extra]
    else:
        argv = [sys.executable, "-m", "server.run", str(release), "--port", str(port),
                "--queries-dir", str(root / "queries"), *extra]
    env = None
    if code is not None and release is not None:
        env = {**os.environ, "PYTHONPATH": str(root)}
    t0 = time.perf_counter()
    server = Server(name, port, "/sparql",
                    _spawn(argv, logs / f"{name}.log", code if env else root, env=env))
    try:
        server.started_in = wait_ready(server, t0, timeout, probe)
    except BaseException:
        server.stop()
        raise
    return server


def start_oxigraph(release: Path, logs: Path, timeout: float = 60,
                   memory_cap: int | None = None) -> Server:
    """``oxigraph serve`` in memory with a union default graph, loaded with our two graphs."""
    from kg.publish import publish

    port = free_port()
    argv = [tool("oxigraph"), "serve", "--bind", f"127.0.0.1:{port}", "--union-default-graph"]
    t0 = time.perf_counter()
    server = Server("oxigraph", port, "/query", _spawn(argv, logs / "oxigraph.log", release,
                                                         memory_cap))
    try:
        wait_ready(server, t0, timeout)
        publish(release, f"http://127.0.0.1:{port}/store")
        server.started_in = time.perf_counter() - t0
    except BaseException:
        server.stop()
        raise
    return server


def start_rdflib_endpoint(release: Path, logs: Path, timeout: float = 180,
                          memory_cap: int | None = None) -> Server:
    """rdflib-endpoint serving the full release graph (N-Triples) as its default graph."""
    port = free_port()
    argv = [
        tool("rdflib-endpoint"), "serve", str(release / "cytokg.nt"),
        "--host", "127.0.0.1", "--port", str(port),
    ]
    t0 = time.perf_counter()
    server = Server("rdflib-endpoint", port, "/", _spawn(argv, logs / "rdflib.log", release,
                                                                memory_cap))
    try:
        server.started_in = wait_ready(server, t0, timeout)
    except BaseException:
        server.stop()
        raise
    return server


@contextlib.contextmanager
def running(server: Server) -> Iterator[Server]:
    """Stop ``server`` when the block ends, whatever happens in it."""
    try:
        yield server
    finally:
        server.stop()
