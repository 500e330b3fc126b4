"""OpenLink Virtuoso as the store: publish, serve every question through it, keep our limits.

A real ``virtuoso-t`` runs on loopback with a temporary database (see conftest.py); the release
is published with the real ``cytokg publish --store virtuoso:...`` command.
"""

from __future__ import annotations

import os
import re
import shutil
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest
from flask import Flask
from support import REPO, run_cli
from test_competency import QUESTION_FILES
from virtuoso_helpers import PASSWORD, VirtuosoServer

from kg.engines.remote import SparqlEngine
from kg.publishers.virtuoso import limits, publish, served_versions, set_limits, version_graph
from kg.store import GRAPH_ASSERTED, GRAPH_EXAMPLES, GRAPH_INFERRED, open_store
from server import create_app, runtime

T = TypeVar("T")

# What publish sets.  Generous because Virtuoso 7.2's optimiser sometimes plans question 72
# (FILTER NOT EXISTS over variable predicates) badly: it then takes tens of seconds here.
VIRTUOSO_TIME_LIMIT = 60
VIRTUOSO_MAX_ROWS = 50_000  # written to the ini; the running server keeps the ini's 100000
FOREIGN = "http://example.org/not-ours"
CROSS = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"
PER_GRAPH = "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g"


def normalised(body: bytes) -> list[str]:
    """TSV answer rows sorted, blank node labels blanked, so two stores can be compared."""
    lines = body.decode().splitlines()
    rows = sorted(re.sub(r"_:[A-Za-z0-9]+", "_:b", line) for line in lines[1:])
    return [lines[0] if lines else "", *rows]


def app_for(release: Path, store: str | None, **settings: object) -> Flask:
    """Our endpoint on the release, in front of ``store`` (None: the embedded store)."""
    config = {"release_dir": release, "executors": 2, "access_log": False,
              "queries_dir": REPO / "queries", "row_limit": 10_000, "time_limit": 30.0,
              "store": store, **settings}
    app = create_app(config)
    app.config["TESTING"] = True
    return app


@pytest.fixture(scope="module")
def published(virtuoso: VirtuosoServer, real_release: Path) -> str:
    """The release published by the real command, plus a foreign graph; the store spec."""
    env = {**os.environ, "VT_TEST_PASSWORD": PASSWORD}
    done = run_cli("--root", str(REPO), "--out", str(real_release), "publish",
                   "--store", f"virtuoso:127.0.0.1:{virtuoso.sql_port}",
                   "--password-env", "VT_TEST_PASSWORD",
                   "--time-limit", str(VIRTUOSO_TIME_LIMIT),
                   "--max-rows", str(VIRTUOSO_MAX_ROWS), env=env)
    assert done.returncode == 0, done.stderr
    assert "switched to version 1" in done.stderr
    virtuoso.sql.run(f"SPARQL INSERT DATA {{ GRAPH <{FOREIGN}> "
                     f"{{ <{FOREIGN}/s> <{FOREIGN}/p> <{FOREIGN}/o> }} }};")
    return f"sparql:{virtuoso.sparql}"


@pytest.fixture
def far(real_release: Path, published: str) -> Iterator[Flask]:
    """Our endpoint in front of the published Virtuoso; its query processes stopped after."""
    app = app_for(real_release, published)
    yield app
    runtime(app).pool.close()


def post_virtuoso(url: str, query: str, timeout: float = 60) -> tuple[int, str]:
    """POST a query straight to Virtuoso's /sparql (status, body)."""
    data = urllib.parse.urlencode({"query": query}).encode()
    request = urllib.request.Request(url, data=data,
                                     headers={"Accept": "application/sparql-results+json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def test_publish_loads_every_graph_and_sets_virtuoso_limits(
    virtuoso: VirtuosoServer, real_release: Path, published: str
) -> None:
    embedded, remote = open_store(real_release), open_store(real_release, store=published)
    assert served_versions(virtuoso.sql) == [1]
    for graph in (GRAPH_ASSERTED, GRAPH_INFERRED):
        assert remote.count(graph) == embedded.count(graph) > 0
        assert virtuoso.sql.run(
            "SELECT COUNT(*) FROM DB.DBA.RDF_QUAD WHERE G = "
            f"iri_to_id ('{version_graph(graph, 1)}', 0);") == [[str(embedded.count(graph))]]
    assert limits(virtuoso.sql) == {"MaxQueryExecutionTime": str(VIRTUOSO_TIME_LIMIT),
                                    "ResultSetMaxRows": str(VIRTUOSO_MAX_ROWS)}
    # The running server's /sparql obeys the limit as written (the ini said 1 s at start).
    set_limits(virtuoso.sql, 4, VIRTUOSO_MAX_ROWS)
    try:
        started = time.monotonic()
        status, body = post_virtuoso(virtuoso.sparql, CROSS)
        elapsed = time.monotonic() - started
    finally:
        set_limits(virtuoso.sql, VIRTUOSO_TIME_LIMIT, VIRTUOSO_MAX_ROWS)
    assert status == 500 and "timed out" in body, body[:300]
    assert 3 <= elapsed <= 4 + 20, elapsed


def test_every_competency_question_answers_alike_through_virtuoso(
    real_release: Path, published: str
) -> None:
    near = app_for(real_release, None)
    far = app_for(real_release, published, time_limit=VIRTUOSO_TIME_LIMIT + 30.0)
    try:
        a, b = near.test_client(), far.test_client()
        for path in QUESTION_FILES:
            text = path.read_text(encoding="utf-8")
            want = a.post("/sparql", data={"query": text, "format": "tsv"})
            got = b.post("/sparql", data={"query": text, "format": "tsv"})
            assert got.status_code == want.status_code == 200, (path.name, got.data[:300])
            assert normalised(got.data) == normalised(want.data), path.name
            assert got.headers["X-Result-Count"] == want.headers["X-Result-Count"], path.name
        # Term pages (DESCRIBE) and graph answers are the embedded store's, triple for triple.
        for page in ("/IL6", "/Cytokine"):
            want = a.get(page, headers={"Accept": "application/n-triples"})
            got = b.get(page, headers={"Accept": "application/n-triples"})
            assert got.status_code == want.status_code == 200, page
            assert normalised(b"\n" + got.data) == normalised(b"\n" + want.data), page
        html = b.get("/IL6", headers={"Accept": "text/html"})
        assert html.status_code == 200 and b"interleukin 6" in html.data
    finally:
        runtime(near).pool.close()
        runtime(far).pool.close()


def test_protocol_and_limits_stay_ours_in_front_of_virtuoso(far: Flask) -> None:
    client = far.test_client()
    # The dataset is our graphs only: Virtuoso's other graphs never show.
    for query in (f"ASK {{ <{FOREIGN}/s> ?p ?o }}",
                  f"ASK {{ GRAPH ?g {{ <{FOREIGN}/s> ?p ?o }} }}"):
        assert client.get("/sparql", query_string={"query": query}).json["boolean"] is False
    # Virtuoso lets GRAPH <iri> read any graph it holds: such a query is refused before it goes.
    for graph in (FOREIGN, "http://www.openlinksw.com/schemas/virtrdf#"):
        query = f"PREFIX x: <{graph}> ASK {{ GRAPH x: {{ ?s ?p ?o }} }}"
        refused = client.get("/sparql", query_string={"query": query})
        assert refused.status_code == 400 and graph in refused.data.decode()
    graphs = client.get("/sparql", query_string={"query": PER_GRAPH, "format": "tsv"})
    assert {line.split("\t")[0] for line in graphs.data.decode().splitlines()[1:]} == {
        f"<{GRAPH_ASSERTED}>", f"<{GRAPH_INFERRED}>", f"<{GRAPH_EXAMPLES}>"}
    foreign = f"SELECT * FROM <{FOREIGN}> {{ ?s ?p ?o }}"
    refused = client.get("/sparql", query_string={"query": foreign})
    assert refused.status_code == 400
    assert client.get("/sparql", query_string={"query": "SELEC ?x"}).status_code == 400
    big = client.get("/sparql", query_string={"query": "CONSTRUCT WHERE { ?s ?p ?o }"},
                     headers={"Accept": "application/n-triples"})
    assert big.status_code == 200, big.data[:300]
    assert big.headers.get("X-Result-Truncated") == "true", dict(big.headers)
    assert len(big.data.decode().splitlines()) == 10_000
    rows = client.get("/sparql", query_string={"query": "SELECT * WHERE { ?s ?p ?o }",
                                               "format": "json"})
    assert rows.headers["X-Result-Truncated"] == "true"
    assert len(rows.json["results"]["bindings"]) == 10_000
    stored = "SELECT ?v WHERE { ?f <https://w3id.org/cytokg/variesByCellType> ?v } LIMIT 1"
    value = client.get("/sparql", query_string={"query": stored}).json
    assert value["results"]["bindings"][0]["v"]["value"] in ("true", "false")


def wait_for(found: Callable[[], list[T]], seconds: float) -> list[T]:
    """Poll `found` until it returns something or `seconds` pass: slow CI is not a failure."""
    deadline = time.monotonic() + seconds
    while not (result := found()) and time.monotonic() < deadline:
        time.sleep(0.1)
    return result


def thinned(release: Path, into: Path) -> Path:
    """A release whose two graphs lack some of the original's triples, so counts differ."""
    into.mkdir()
    for name, step in (("cytokg-asserted.nt", 7), ("cytokg-inferred.nt", 5)):
        lines = (release / name).read_bytes().splitlines(keepends=True)
        (into / name).write_bytes(b"".join(line for i, line in enumerate(lines) if i % step))
    shutil.copy(release / "manifest.json", into / "manifest.json")
    return into


def test_republish_switches_both_graphs_at_once(
    virtuoso: VirtuosoServer, real_release: Path, published: str, far: Flask, tmp_path: Path
) -> None:
    other = thinned(real_release, tmp_path / "other")
    client = far.test_client()
    seen: list[tuple[float, tuple[tuple[str, str], ...]]] = []
    marks: dict[str, float] = {}
    stop = threading.Event()

    def poll() -> None:
        """Read both graphs' counts in one query, each poll a new query string (no cache)."""
        deadline = time.monotonic() + 600
        n = 0
        while not stop.is_set() and n < 100_000 and time.monotonic() < deadline:
            n += 1
            asked = time.monotonic()
            answer = client.get("/sparql", query_string={"query": f"# poll {n}\n{PER_GRAPH}",
                                                         "format": "tsv"})
            assert answer.status_code == 200
            rows = sorted(tuple(line.split("\t")) for line in answer.data.decode().splitlines()[1:])
            seen.append((asked, tuple(rows)))

    def counts(release: Path) -> tuple[tuple[str, str], ...]:
        store = open_store(release)
        return tuple(sorted((f"<{g}>", str(store.count(g))) for g in store.graphs))

    def mark(message: str) -> None:
        if "staged" in message:
            marks["staged"] = time.monotonic()
        if "switched" in message:
            marks["switched"] = time.monotonic()

    old, new = counts(real_release), counts(other)
    assert old != new
    reader = threading.Thread(target=poll)
    reader.start()
    try:
        for release, expect in ((other, new), (real_release, old)):
            publish(release, virtuoso.sql, time_limit=VIRTUOSO_TIME_LIMIT,
                    max_rows=VIRTUOSO_MAX_ROWS, progress=mark)
            # Each server process trusts the served version it read for VERSION_TTL, and a slow
            # machine may still be answering a poll asked before the switch: judge only the
            # reads asked once that long has passed since publish returned.
            done = time.monotonic() + SparqlEngine.VERSION_TTL
            after = wait_for(lambda done=done: [r for asked, r in list(seen) if asked > done], 120)
            assert after and set(after) == {expect}
    finally:
        stop.set()
        reader.join(60)
    assert not reader.is_alive()
    assert {rows for _, rows in seen} <= {old, new}, {rows for _, rows in seen} - {old, new}
    during = [t for t, _ in seen if marks["staged"] <= t <= marks["switched"] + 2]
    assert during, "no read happened while the switch ran"
    # Three publishes in all: only the served version and the one before it stay.
    assert served_versions(virtuoso.sql) == [3]
    kept = virtuoso.sql.run("SELECT COUNT(*) FROM DB.DBA.RDF_QUAD WHERE G = "
                            f"iri_to_id ('{version_graph(GRAPH_ASSERTED, 1)}', 0);")
    assert kept == [["0"]]


def test_publish_errors_are_one_line(virtuoso: VirtuosoServer, real_release: Path) -> None:
    base = ("--root", str(REPO), "--out", str(real_release), "publish",
            "--store", f"virtuoso:127.0.0.1:{virtuoso.sql_port}", "--password-env", "VT_PW")
    env = {k: v for k, v in os.environ.items() if k != "VT_PW"}
    missing = run_cli(*base, env=env)
    assert missing.returncode == 1 and "set VT_PW" in missing.stderr
    wrong = run_cli(*base, env={**env, "VT_PW": "not-the-password"})
    assert wrong.returncode == 1 and "Bad login" in wrong.stderr
    assert "Traceback" not in wrong.stderr
    elsewhere = run_cli(*base, "--load-dir", "/nonexistent", env={**env, "VT_PW": PASSWORD})
    assert elsewhere.returncode == 1 and "--load-dir" in elsewhere.stderr


def test_pathological_query_ends_at_our_time_limit(real_release: Path, published: str) -> None:
    app = app_for(real_release, published, time_limit=2.0)
    try:
        client = app.test_client()
        started = time.monotonic()
        slow = client.get("/sparql", query_string={"query": CROSS})
        elapsed = time.monotonic() - started
        assert slow.status_code == 503 and "Retry-After" in slow.headers
        assert 1.5 <= elapsed < 4.5, elapsed
        ok = client.get("/sparql", query_string={"query": "ASK { ?s ?p ?o }"})
        assert ok.status_code == 200 and ok.json["boolean"] is True
    finally:
        runtime(app).pool.close()
