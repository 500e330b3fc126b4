"""``cytokg mcp`` as a command: refusing a bad release, and its HTTP server's lifecycle."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from mcp_support import HttpServer, Session, children_of, stdio_session, wait_gone
from support import REPO, run_cli


def test_a_missing_release_is_refused_in_one_line(tmp_path: Path) -> None:
    done = run_cli("--out", str(tmp_path / "none"), "mcp", "--no-build")
    assert done.returncode == 1
    assert done.stderr.startswith("cytokg: error:") and "manifest.json" in done.stderr
    assert "Traceback" not in done.stderr and done.stdout == ""


def test_http_binds_loopback_and_stops_its_query_processes(mcp_release: Path) -> None:
    server = HttpServer(mcp_release, "--executors", "3")
    try:
        url = server.url.result()
        assert url.startswith("http://127.0.0.1:") and url.endswith("/mcp")
        executors = children_of(server.proc.pid)
        assert len(executors) == 3
        session = Session(url)
        try:
            assert not session.call("search_terms", {"query": "TNF"}).is_error
        finally:
            session.close()
    finally:
        code = server.stop()
    assert code == 0
    assert wait_gone(executors) == []


#: Sorting a five-way cross product of the graph must hold its solutions in memory at once.
GREEDY = ("SELECT ?a ?d ?g ?j ?m WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l . ?m ?n ?o }"
          " ORDER BY ?a ?d ?g ?j ?m LIMIT 1")


def test_memory_limit_ends_a_greedy_query(mcp_release: Path) -> None:
    session = stdio_session(mcp_release, "--memory-limit", str(64 << 20), "--time-limit", "60")
    try:
        result = session.call("run_sparql", {"query": GREEDY})
        assert result.is_error
        message = result.content[0].text
        assert "query" in message and f"memory limit of {64 << 20} bytes" in message
        # the process that died was replaced: the next query is answered
        assert not session.call("run_sparql", {"query": "ASK { ?s ?p ?o }"}).is_error
    finally:
        session.close()


def test_stdio_server_and_its_query_processes_end_with_the_client(mcp_release: Path,
                                                                   tmp_path: Path) -> None:
    marker = tmp_path / "queries-of-this-test"  # names this server's processes
    marker.mkdir()
    session = stdio_session(mcp_release, "--queries-dir", str(marker))
    try:
        (server,) = processes_with(str(marker))
        executors = children_of(server)
        assert len(executors) == 2  # the default --executors
        assert not session.call("list_examples", {}).is_error
    finally:
        session.close()
    assert wait_gone([server, *executors]) == []


def processes_with(text: str) -> list[int]:
    """The live processes whose command line contains ``text`` (the server, not its forks)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if text in cmdline:
                found.append(int(entry.name))
    parents = {p for p in found if not any(p in children_of(q) for q in found)}
    return sorted(parents)


def test_the_server_never_imports_build_code() -> None:
    code = ("import sys, server.mcp.app, server.mcp.tools, server.mcp.lookups, "
            "server.mcp.resources, server.mcp.prompts; print(sorted(m for m in sys.modules if m in "
            "{'kg.build', 'kg.reason', 'kg.derive', 'kg.rules', 'kg.release', 'owlrl', "
            "'reasonable', 'pyshacl'}))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=REPO, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
