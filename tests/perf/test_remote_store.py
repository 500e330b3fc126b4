"""The endpoint in front of a real Oxigraph server gives the embedded store's answers."""

from __future__ import annotations

import re
import urllib.request
from pathlib import Path

import pytest
from perf_helpers import free_port

from kg.cli import main as cli_main
from kg.errors import BuildError
from kg.publish import publish
from kg.store import GRAPH_ASSERTED, GRAPH_EXAMPLES, GRAPH_INFERRED, open_store
from server import create_app, runtime

REPO = Path(__file__).resolve().parents[2]
QUERIES = sorted((REPO / "queries").glob("*.rq"))
FOREIGN = "http://example.org/not-ours"


def normalised(body: bytes) -> list[str]:
    """TSV answer rows sorted, blank node labels blanked, so stores can be compared."""
    lines = body.decode().splitlines()
    rows = sorted(re.sub(r"_:[A-Za-z0-9]+", "_:b", line) for line in lines[1:])
    return [lines[0] if lines else "", *rows]


def put_foreign_graph(base: str) -> None:
    """Put a graph that is not ours into the store, to prove it never leaks into answers."""
    data = f"<{FOREIGN}/s> <{FOREIGN}/p> <{FOREIGN}/o> .\n".encode()
    req = urllib.request.Request(
        f"{base}/store?graph={FOREIGN}", data=data, method="PUT",
        headers={"Content-Type": "application/n-triples"},
    )
    with urllib.request.urlopen(req, timeout=10) as resp:
        assert resp.status in (201, 204)


@pytest.fixture
def remote(real_release: Path, oxigraph_url: str) -> str:
    """Our release published into the Oxigraph server, plus a foreign graph; the store spec."""
    sent = publish(real_release, f"{oxigraph_url}/store")
    assert set(sent) == {GRAPH_ASSERTED, GRAPH_INFERRED, GRAPH_EXAMPLES}
    put_foreign_graph(oxigraph_url)
    return f"sparql:{oxigraph_url}/query"


def test_remote_engine_matches_embedded_on_every_competency_question(
    real_release: Path, remote: str
) -> None:
    embedded = open_store(real_release)
    far = open_store(real_release, store=remote)
    assert far.graphs == embedded.graphs
    assert far.count(GRAPH_ASSERTED) == embedded.count(GRAPH_ASSERTED)
    assert far.count() == embedded.count()
    for path in QUERIES:
        text = path.read_text(encoding="utf-8")
        want = embedded.query(text).serialize("tsv")
        got = far.query(text).serialize("tsv")
        assert normalised(got.body) == normalised(want.body), path.name
        assert got.count == want.count


def test_endpoint_in_front_of_remote_store_answers_like_embedded(
    real_release: Path, remote: str
) -> None:
    settings = {"release_dir": real_release, "executors": 2, "access_log": False,
                "queries_dir": REPO / "queries", "row_limit": 10_000}
    near = create_app(settings)
    far = create_app({**settings, "store": remote})
    try:
        a, b = near.test_client(), far.test_client()
        for path in QUERIES:
            text = path.read_text(encoding="utf-8")
            want = a.get("/sparql", query_string={"query": text, "format": "tsv"})
            got = b.get("/sparql", query_string={"query": text, "format": "tsv"})
            assert got.status_code == want.status_code == 200, path.name
            assert normalised(got.data) == normalised(want.data), path.name
            assert got.headers["X-Result-Count"] == want.headers["X-Result-Count"]
        # The dataset is restricted to our graphs: the store's other graph never shows.
        ask = b.get("/sparql", query_string={"query": f"ASK {{ <{FOREIGN}/s> ?p ?o }}"})
        assert ask.json == {"head": {}, "boolean": False}
        ask = b.get("/sparql", query_string={
            "query": f"ASK {{ GRAPH ?g {{ <{FOREIGN}/s> ?p ?o }} }}"})
        assert ask.json == {"head": {}, "boolean": False}
        foreign = f"SELECT * FROM <{FOREIGN}> {{ ?s ?p ?o }}"
        refused = b.get("/sparql", query_string={"query": foreign})
        assert refused.status_code == 400
        # Guards and limits stay ours: row limit, parse errors, graph results.
        bad = b.get("/sparql", query_string={"query": "SELEC ?x"})
        assert bad.status_code == 400
        construct = "CONSTRUCT WHERE { ?s ?p ?o }"
        big = b.get("/sparql", query_string={"query": construct},
                    headers={"Accept": "application/n-triples"})
        assert big.status_code == 200
        assert big.headers["X-Result-Truncated"] == "true"
        assert len(big.data.decode().splitlines()) == 10_000
        page = b.get("/IL6", headers={"Accept": "text/turtle"})
        assert page.status_code == 200 and b"IL6" in page.data
    finally:
        runtime(near).pool.close()
        runtime(far).pool.close()


def test_cli_publish(real_release: Path, oxigraph_url: str) -> None:
    code = cli_main(["--root", str(REPO), "--out", str(real_release),
                     "publish", "--to", f"{oxigraph_url}/store"])
    assert code == 0
    far = open_store(real_release, store=f"sparql:{oxigraph_url}/query")
    assert far.count(GRAPH_INFERRED) == open_store(real_release).count(GRAPH_INFERRED)


def test_publish_to_nowhere_is_a_clear_error(real_release: Path) -> None:
    with pytest.raises(BuildError, match="cannot reach"):
        publish(real_release, f"http://127.0.0.1:{free_port()}/store")


def test_unknown_store_spec_is_refused(real_release: Path) -> None:
    for spec in ("nowhere:x", "sparql:ftp://x/", "oxigraph:"):
        with pytest.raises(ValueError):
            open_store(real_release, store=spec)
