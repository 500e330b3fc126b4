"""`cytokg serve`, run for real: it builds a stale release, then serves it under Granian; it
refuses a port that another process already listens on, before building anything."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
from pathlib import Path

import pytest
import requests
from srv_helpers import LiveServer
from support import CYTOKG

from kg.build import Project

LYMPHOKINES = "SELECT ?c WHERE { ?c a <https://w3id.org/cytokg/Lymphokine> }"


def serve_once(root: Path, port: int, timeout: float = 60) -> subprocess.CompletedProcess:
    """Run `cytokg serve` on a port and wait for it to exit; whatever it started is killed after."""
    proc = subprocess.Popen([str(CYTOKG), "--root", str(root), "serve", "--port", str(port),
                             "--workers", "1", "--threads", "1"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def assert_refused(result: subprocess.CompletedProcess, port: int) -> None:
    """The command failed with one line on stderr naming the port and the --port option."""
    assert result.returncode != 0, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert f"port {port} " in lines[0] and "--port" in lines[0], lines[0]


def test_serve_builds_the_release_then_answers_queries(mini: Project, tmp_path: Path) -> None:
    assert not mini.out.exists()
    server = LiveServer(mini.out, tmp_path / "serve.log", "--workers", "1", "--threads", "2",
                        command=[str(CYTOKG), "--root", str(mini.root), "serve"])
    try:
        reply = requests.get(server.base + "/sparql", params={"query": LYMPHOKINES},
                             headers={"Accept": "application/sparql-results+json"}, timeout=10)
        assert reply.status_code == 200
        assert reply.json()["results"]["bindings"] == [
            {"c": {"type": "uri", "value": "https://w3id.org/cytokg/IL2"}}]
        assert (mini.out / "manifest.json").is_file()
        version = requests.get(server.base + "/version", timeout=10).json()
        assert version["version"] == "0.1.0"
        # A second server on the same port (Granian binds with SO_REUSEPORT, so it could join
        # silently and take part of the traffic) is refused, and the first keeps answering.
        assert_refused(serve_once(mini.root, server.port), server.port)
        for _ in range(5):
            assert requests.get(server.base + "/version", timeout=10).status_code == 200
        assert server.terminate() == 0
    finally:
        server.stop()
    log = (tmp_path / "serve.log").read_text()
    assert "reason" in log and "release" in log
    assert log.count('"GET /version"') == 6  # every request reached the first server


@pytest.mark.parametrize("address", ["127.0.0.1", "::1", "0.0.0.0"])
def test_serve_refuses_a_port_another_process_listens_on(mini: Project, address: str) -> None:
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as first:
        first.bind((address, 0))
        first.listen(8)
        port = first.getsockname()[1]
        result = serve_once(mini.root, port)
        assert_refused(result, port)
        assert not mini.out.exists()  # refused before building anything
        # The first listener still gets the traffic: a client's connection reaches it.
        target = "127.0.0.1" if address == "0.0.0.0" else address
        first.settimeout(5)
        with socket.create_connection((target, port), timeout=5) as client:
            mine = client.getsockname()[:2]
            for _ in range(3):  # the refusal's own probe connection may be queued first
                conn, peer = first.accept()
                with conn:
                    if peer[:2] == mine:
                        conn.sendall(b"first")
                        break
            else:
                pytest.fail("the client's connection never reached the first listener")
            assert client.recv(5) == b"first"
