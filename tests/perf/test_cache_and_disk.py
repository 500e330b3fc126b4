"""The response cache is exact and bounded; the on-disk store and the generator work."""

from __future__ import annotations

from pathlib import Path

from kg.build import Project, load_and_validate
from kg.store import GRAPH_ASSERTED, OxigraphDiskEngine, open_store
from server import create_app, runtime
from server.cache import ResponseCache

REPO = Path(__file__).resolve().parents[2]
Q = "SELECT ?c WHERE { ?c a <https://w3id.org/cytokg/Cytokine> } ORDER BY ?c"


def test_cache_is_lru_and_bounded_in_bytes() -> None:
    cache: ResponseCache[str] = ResponseCache(10_000, max_entry_fraction=0.5)
    assert cache.put("a", "A", 4000) and cache.put("b", "B", 4000)
    assert cache.get("a") == "A"  # a is now the most recently used
    assert cache.put("c", "C", 3000)
    assert cache.size <= 10_000
    assert cache.get("b") is None and cache.get("a") == "A" and cache.get("c") == "C"
    assert not cache.put("huge", "H", 6000)  # over the per-entry share: never stored
    off: ResponseCache[str] = ResponseCache(0)
    assert not off.put("a", "A", 1) and off.get("a") is None


def test_repeated_get_is_byte_identical_and_served_from_cache(real_release: Path) -> None:
    app = create_app({"release_dir": real_release, "executors": 1, "access_log": False,
                      "queries_dir": REPO / "queries"})
    try:
        client, cache = app.test_client(), runtime(app).cache
        first = client.get("/sparql", query_string={"query": Q})
        hits = cache.hits
        second = client.get("/sparql", query_string={"query": Q})
        assert cache.hits == hits + 1
        assert second.data == first.data and second.status_code == 200
        assert dict(second.headers) == dict(first.headers)
        assert second.headers["Access-Control-Allow-Origin"] == "*"
        # Another Accept is another answer, never the cached one.
        csv = client.get("/sparql", query_string={"query": Q}, headers={"Accept": "text/csv"})
        assert csv.content_type.startswith("text/csv") and csv.data != first.data
        # POST is answered from the job cache with the same bytes.
        post = client.post("/sparql", data=Q, content_type="application/sparql-query")
        assert post.data == first.data
        # Errors are never cached.
        size = len(cache)
        for _ in range(2):
            assert client.get("/sparql", query_string={"query": "SELEC"}).status_code == 400
        assert len(cache) == size
    finally:
        runtime(app).pool.close()


def test_disk_store_answers_like_memory_and_is_loaded_once(
    real_release: Path, tmp_path: Path
) -> None:
    where = tmp_path / "store"
    disk = open_store(real_release, store=f"oxigraph:{where}")
    assert isinstance(disk, OxigraphDiskEngine)
    memory = open_store(real_release)
    assert disk.count() == memory.count() and disk.count(GRAPH_ASSERTED) > 0
    assert disk.query(Q).serialize("tsv").body == memory.query(Q).serialize("tsv").body
    marker = (where / OxigraphDiskEngine.MARKER).stat().st_mtime_ns
    again = open_store(real_release, store=f"oxigraph:{where}")
    assert (where / OxigraphDiskEngine.MARKER).stat().st_mtime_ns == marker
    assert again.count() == memory.count()
    app = create_app({"release_dir": real_release, "executors": 2, "access_log": False,
                      "store": f"oxigraph:{where}", "queries_dir": REPO / "queries"})
    try:  # executors fork and open their own read-only handles
        resp = app.test_client().get("/sparql", query_string={"query": Q, "format": "tsv"})
        assert resp.status_code == 200
        assert resp.data == memory.query(Q).serialize("tsv").body
    finally:
        runtime(app).pool.close()


def test_synthetic_project_is_valid_and_scaled(tmp_path: Path) -> None:
    from benchmarks.synthetic import generate

    one = load_and_validate(Project(root=REPO, out=tmp_path / "b1"), progress=lambda _: None)
    root = generate(2, tmp_path / "x2")
    two = load_and_validate(Project(root=root, out=root / "build"), progress=lambda _: None)
    assert len(two.graph) > 1.9 * len(one.graph)
