"""Time, size and row limits, through the Flask test client."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from srv_helpers import make_app

from server import runtime

#: Six-way cross product over ~32 triples: about 10^9 solutions, minutes of work.
PATHOLOGICAL = (
    "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . "
    "?j ?k ?l . ?m ?n1 ?o . ?q ?r ?s }"
)


def test_time_limit_ends_a_query_with_503(release_dir: Path) -> None:
    app = make_app(release_dir, time_limit=1.0)
    client = app.test_client()
    try:
        t0 = time.monotonic()
        r = client.get("/sparql", query_string={"query": PATHOLOGICAL})
        took = time.monotonic() - t0
        assert r.status_code == 503
        assert "time limit of 1 s" in r.text
        assert r.headers["Retry-After"]
        assert 0.9 < took < 3.0
        # The killed executor was replaced: the next query is answered.
        r = client.get("/sparql", query_string={"query": "ASK { ?s ?p ?o }"})
        assert r.status_code == 200 and r.json["boolean"] is True
    finally:
        runtime(app).pool.close()


def test_simple_query_is_answered_while_a_long_one_runs(release_dir: Path) -> None:
    app = make_app(release_dir, time_limit=3.0, executors=2)
    client = app.test_client()
    long_status: list[int] = []

    def long_query() -> None:
        long_status.append(
            app.test_client().get("/sparql", query_string={"query": PATHOLOGICAL}).status_code
        )

    try:
        client.get("/sparql", query_string={"query": "ASK {}"})  # start executors
        worker = threading.Thread(target=long_query)
        worker.start()
        time.sleep(0.3)
        t0 = time.monotonic()
        r = client.get("/sparql", query_string={"query": "ASK { ?s ?p ?o }"})
        took = time.monotonic() - t0
        assert r.status_code == 200
        assert took < 0.5, f"simple ASK took {took:.3f}s while the long query ran"
        worker.join(timeout=10)
        assert long_status == [503]
    finally:
        runtime(app).pool.close()


def test_row_limit_truncates_select_and_says_so(release_dir: Path) -> None:
    app = make_app(release_dir, row_limit=5)
    client = app.test_client()
    try:
        r = client.get("/sparql", query_string={"query": "SELECT * WHERE { ?s ?p ?o }"})
        assert r.status_code == 200
        assert len(r.json["results"]["bindings"]) == 5
        assert r.headers["X-Result-Truncated"] == "true"
        assert r.headers["X-Result-Row-Limit"] == "5"
        assert "truncated" in r.headers["Warning"]
        r = client.get(
            "/sparql", query_string={"query": "SELECT * { ?s ?p ?o } LIMIT 5", "format": "csv"}
        )
        assert "X-Result-Truncated" not in r.headers
        assert r.headers["X-Result-Count"] == "5"
        assert len(r.text.strip().split("\r\n")) == 6
    finally:
        runtime(app).pool.close()


def test_row_limit_truncates_construct(release_dir: Path) -> None:
    app = make_app(release_dir, row_limit=4)
    client = app.test_client()
    try:
        r = client.get(
            "/sparql", query_string={"query": "CONSTRUCT WHERE { ?s ?p ?o }", "format": "nt"}
        )
        assert r.status_code == 200
        assert len(r.text.strip().splitlines()) == 4
        assert r.headers["X-Result-Truncated"] == "true"
    finally:
        runtime(app).pool.close()


def test_body_over_limit_is_413_and_long_url_414(release_dir: Path) -> None:
    app = make_app(release_dir, body_limit=1000, url_limit=1000)
    client = app.test_client()
    try:
        big = "ASK { ?s ?p ?o }" + " " * 2000
        r = client.post("/sparql", data=big.encode(), content_type="application/sparql-query")
        assert r.status_code == 413
        assert "1000 bytes" in r.text
        r = client.post(
            "/sparql", data={"query": big}, content_type="application/x-www-form-urlencoded"
        )
        assert r.status_code == 413
        r = client.get("/sparql", query_string={"query": big})
        assert r.status_code == 414
        r = client.post("/sparql", data=b"ASK {}", content_type="application/sparql-query")
        assert r.status_code == 200
    finally:
        runtime(app).pool.close()


#: Sorting a five-way cross product must hold ~30 million solutions in memory at once.
GREEDY = ("SELECT ?a ?d ?g ?j ?m WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l . ?m ?n ?o }"
          " ORDER BY ?a ?d ?g ?j ?m LIMIT 1")


def test_memory_limit_ends_a_greedy_query_with_503(release_dir: Path) -> None:
    app = make_app(release_dir, time_limit=30.0, memory_limit=64 << 20)
    client = app.test_client()
    try:
        r = client.get("/sparql", query_string={"query": GREEDY})
        assert r.status_code == 503
        assert "more memory than the limit of 64 MiB" in r.text
        assert "Traceback" not in r.text
        # The process that died was replaced: the next query is answered.
        r = client.get("/sparql", query_string={"query": "ASK { ?s ?p ?o }"})
        assert r.status_code == 200 and r.json["boolean"] is True
    finally:
        runtime(app).pool.close()
