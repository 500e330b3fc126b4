"""`cytokg serve`, run for real: it builds a stale release, then serves it under Granian."""

from __future__ import annotations

from pathlib import Path

import requests
from srv_helpers import LiveServer
from support import CYTOKG

from kg.build import Project

LYMPHOKINES = "SELECT ?c WHERE { ?c a <https://w3id.org/cytokg/Lymphokine> }"


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
        assert server.terminate() == 0
    finally:
        server.stop()
    log = (tmp_path / "serve.log").read_text()
    assert "reason" in log and "release" in log
