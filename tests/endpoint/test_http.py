"""The real server over real HTTP: Granian workers, executors, limits, shutdown."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from srv_helpers import LiveServer, Trap, group_processes
from srv_release import ASSERTED, BINDS, CYTOKINE, IL1B, IL6, N_ASSERTED, TNF

PATHOLOGICAL = (
    "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . "
    "?j ?k ?l . ?m ?n1 ?o . ?q ?r ?s }"
)
CYTOKINES = f"SELECT ?c WHERE {{ ?c a <{CYTOKINE}> }} ORDER BY ?c"
TIMEOUT = 15


@pytest.fixture(scope="module")
def live(release_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """One server for the module: 2 workers x 2 threads, 2 s time limit."""
    log = tmp_path_factory.mktemp("live") / "server.log"
    server = LiveServer(
        release_dir,
        log,
        "--workers",
        "2",
        "--threads",
        "2",
        "--time-limit",
        "2",
        "--row-limit",
        "20",
        "--body-limit",
        "20000",
    )
    try:
        yield server
    finally:
        server.stop()


def bindings(r: requests.Response, var: str) -> list[str]:
    return [b[var]["value"] for b in r.json()["results"]["bindings"]]


def test_http_query_by_get_post_form_and_post_direct(live: LiveServer) -> None:
    url = live.base + "/sparql"
    r1 = requests.get(url, params={"query": CYTOKINES}, timeout=TIMEOUT)
    r2 = requests.post(url, data={"query": CYTOKINES}, timeout=TIMEOUT)
    r3 = requests.post(
        url,
        data=CYTOKINES.encode(),
        timeout=TIMEOUT,
        headers={"Content-Type": "application/sparql-query"},
    )
    for r in (r1, r2, r3):
        assert r.status_code == 200
        assert r.headers["Content-Type"] == "application/sparql-results+json"
        assert bindings(r, "c") == [IL1B, IL6, TNF]
        assert r.headers["Access-Control-Allow-Origin"] == "*"


def test_http_every_result_format(live: LiveServer) -> None:
    url = live.base + "/sparql"
    select = f"SELECT ?c ?r WHERE {{ ?c <{BINDS}> ?r }}"
    construct = f"CONSTRUCT WHERE {{ ?c <{BINDS}> ?r }}"
    for query, accept in [
        (select, "application/sparql-results+json"),
        (select, "application/sparql-results+xml"),
        (select, "text/csv"),
        (select, "text/tab-separated-values"),
        (construct, "text/turtle"),
        (construct, "application/ld+json"),
        (construct, "application/n-triples"),
        (construct, "application/rdf+xml"),
    ]:
        r = requests.get(url, params={"query": query}, headers={"Accept": accept}, timeout=TIMEOUT)
        assert r.status_code == 200, (accept, r.text)
        assert r.headers["Content-Type"].split(";")[0] == accept
    r = requests.get(
        url, params={"query": select}, headers={"Accept": "image/png"}, timeout=TIMEOUT
    )
    assert r.status_code == 406


def test_http_default_graph_uri(live: LiveServer) -> None:
    r = requests.get(
        live.base + "/sparql",
        timeout=TIMEOUT,
        params={"query": "SELECT (COUNT(*) AS ?n) { ?s ?p ?o }", "default-graph-uri": ASSERTED},
    )
    assert bindings(r, "n") == [str(N_ASSERTED)]


def test_http_client_errors_are_readable(live: LiveServer) -> None:
    url = live.base + "/sparql"
    r = requests.put(url, data="ASK {}", timeout=TIMEOUT)
    assert r.status_code == 405
    r = requests.post(url, data=b"ASK {}", headers={"Content-Type": "text/plain"}, timeout=TIMEOUT)
    assert r.status_code == 415
    r = requests.get(url, params={"query": "SELECT * WHERE { ?s ?p"}, timeout=TIMEOUT)
    assert r.status_code == 400
    assert "1:" in r.text and "Traceback" not in r.text
    r = requests.get(url, params={"query": "INSERT DATA { <x:a> <x:b> <x:c> }"}, timeout=TIMEOUT)
    assert r.status_code == 400 and "read-only" in r.text


def test_http_long_query_does_not_block_simple_ask(live: LiveServer) -> None:
    url = live.base + "/sparql"
    with ThreadPoolExecutor(max_workers=1) as pool:
        t0 = time.monotonic()
        slow = pool.submit(requests.get, url, params={"query": PATHOLOGICAL}, timeout=TIMEOUT)
        time.sleep(0.3)
        latencies = []
        for _ in range(5):
            t = time.monotonic()
            r = requests.get(url, params={"query": "ASK { ?s ?p ?o }"}, timeout=TIMEOUT)
            latencies.append(time.monotonic() - t)
            assert r.status_code == 200 and r.json()["boolean"] is True
        assert not slow.done(), "the pathological query should still be running"
        resp = slow.result(timeout=TIMEOUT)
        took = time.monotonic() - t0
    assert max(latencies) < 1.0, latencies
    assert resp.status_code == 503
    assert "time limit" in resp.text
    assert 1.9 < took < 5.0


def test_http_row_limit_and_body_limit(live: LiveServer) -> None:
    url = live.base + "/sparql"
    r = requests.get(url, params={"query": "SELECT * { ?s ?p ?o }"}, timeout=TIMEOUT)
    assert len(bindings(r, "s")) == 20
    assert r.headers["X-Result-Truncated"] == "true"
    r = requests.post(
        url,
        data=("ASK {}" + " " * 30000).encode(),
        timeout=TIMEOUT,
        headers={"Content-Type": "application/sparql-query"},
    )
    assert r.status_code == 413


def test_http_nothing_leaves_the_building(live: LiveServer, secret_file: Path) -> None:
    trap = Trap()
    try:
        url = live.base + "/sparql"
        for q in (
            f"SELECT * {{ SERVICE <{trap.url}> {{ ?s ?p ?o }} }}",
            f"SELECT * FROM <{trap.url}> {{ ?s ?p ?o }}",
            f"SELECT * FROM NAMED <{trap.url}> {{ GRAPH ?g {{ ?s ?p ?o }} }}",
            f"SELECT * FROM <{secret_file.as_uri()}> {{ ?s ?p ?o }}",
        ):
            r = requests.get(url, params={"query": q}, timeout=TIMEOUT)
            assert r.status_code == 400
            assert "TOP-SECRET" not in r.text
        r = requests.get(
            url, params={"query": "ASK {}", "default-graph-uri": trap.url}, timeout=TIMEOUT
        )
        assert r.status_code == 400
        time.sleep(0.3)
        assert trap.connections == 0
    finally:
        trap.close()


def test_http_service_description_void_health_version(live: LiveServer) -> None:
    r = requests.get(live.base + "/sparql", timeout=TIMEOUT)
    assert r.headers["Content-Type"].startswith("text/turtle")
    assert f"sd:endpoint <{live.base}/sparql>" in r.text
    assert requests.get(live.base + "/.well-known/void", timeout=TIMEOUT).status_code == 200
    assert requests.get(live.base + "/health", timeout=TIMEOUT).json()["status"] == "ok"
    assert requests.get(live.base + "/version", timeout=TIMEOUT).json()["version"] == "0.1.0"


def test_http_access_log_goes_to_stderr(live: LiveServer) -> None:
    requests.get(live.base + "/health?probe=accesslog", timeout=TIMEOUT)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        if '"GET /health?probe=accesslog" 200' in live.log_path.read_text():
            return
        time.sleep(0.1)
    pytest.fail("no access log line")


def test_http_sigterm_is_graceful(release_dir: Path, tmp_path: Path) -> None:
    server = LiveServer(
        release_dir,
        tmp_path / "server.log",
        "--workers",
        "1",
        "--threads",
        "2",
        "--time-limit",
        "1.5",
    )
    try:
        pgid = server.proc.pid
        assert len(group_processes(pgid)) >= 4  # master, worker, 2 executors
        result: list[int] = []

        def in_flight() -> None:
            r = requests.get(
                server.base + "/sparql", params={"query": PATHOLOGICAL}, timeout=TIMEOUT
            )
            result.append(r.status_code)

        t = threading.Thread(target=in_flight)
        t.start()
        time.sleep(0.5)
        assert server.terminate(timeout=20) == 0
        t.join(timeout=TIMEOUT)
        assert result == [503]  # the in-flight request was answered, not dropped
        deadline = time.monotonic() + 5
        while group_processes(pgid) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert group_processes(pgid) == []
    finally:
        server.stop()
