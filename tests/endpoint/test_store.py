"""kg.store: both engines load the release and agree; row caps are exact."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from srv_release import ASSERTED, BINDS, INFERRED, N_ASSERTED, N_INFERRED, TRICKY

from kg.store import ENGINES, QueryEngine, QuerySyntaxError, open_store

SELECT_ALL = "SELECT ?s ?p ?o WHERE { ?s ?p ?o } ORDER BY ?s ?p ?o"


@pytest.fixture(scope="module", params=sorted(ENGINES))
def engine(request: pytest.FixtureRequest, release_dir: Path) -> QueryEngine:
    return open_store(release_dir, engine=request.param)


def json_rows(engine: QueryEngine, query: str, **kw: object) -> list[dict]:
    out = engine.query(query, **kw).serialize("json")  # type: ignore[arg-type]
    return json.loads(out.body)["results"]["bindings"]


def test_open_store_loads_both_named_graphs(engine: QueryEngine) -> None:
    assert engine.graphs == (ASSERTED, INFERRED)
    assert engine.count(ASSERTED) == N_ASSERTED
    assert engine.count(INFERRED) == N_INFERRED
    assert engine.count() == N_ASSERTED + N_INFERRED


def test_default_dataset_is_the_union(engine: QueryEngine) -> None:
    assert len(json_rows(engine, SELECT_ALL)) == N_ASSERTED + N_INFERRED
    assert len(json_rows(engine, SELECT_ALL, default_graphs=[INFERRED])) == N_INFERRED
    assert json_rows(engine, SELECT_ALL, default_graphs=[], named_graphs=[]) == []


@pytest.mark.parametrize("fmt", ["json", "xml", "csv", "tsv"])
@pytest.mark.parametrize("limit", [None, 3, N_ASSERTED + N_INFERRED])
def test_row_cap_is_exact(engine: QueryEngine, fmt: str, limit: int | None) -> None:
    out = engine.query(SELECT_ALL).serialize(fmt, limit)
    total = N_ASSERTED + N_INFERRED
    assert out.count == (total if limit is None else min(limit, total))
    assert out.truncated is (limit is not None and limit < total)


@pytest.mark.parametrize("fmt", ["turtle", "jsonld", "nt", "rdfxml"])
def test_graph_cap_is_exact(engine: QueryEngine, fmt: str) -> None:
    out = engine.query("CONSTRUCT WHERE { ?s ?p ?o }").serialize(fmt, 7)
    assert (out.count, out.truncated) == (7, True)
    out = engine.query(f"CONSTRUCT WHERE {{ ?s <{BINDS}> ?o }}").serialize(fmt, 7)
    assert (out.count, out.truncated) == (3, False)


def test_engines_agree_on_bindings(release_dir: Path) -> None:
    results = []
    for name in sorted(ENGINES):
        rows = json_rows(open_store(release_dir, engine=name), SELECT_ALL)
        # Blank node labels are engine-specific; compare everything else.
        results.append([{k: v for k, v in r.items() if v["type"] != "bnode"} for r in rows])
    assert results[0] == results[1]
    assert any(r.get("o", {}).get("value") == TRICKY for r in results[0])


def test_syntax_errors_raise_query_syntax_error(engine: QueryEngine) -> None:
    with pytest.raises(QuerySyntaxError):
        engine.query("SELECT * WHERE {")


def test_unknown_engine_and_missing_files(tmp_path: Path, release_dir: Path) -> None:
    with pytest.raises(ValueError, match="unknown engine"):
        open_store(release_dir, engine="virtuoso")
    with pytest.raises(FileNotFoundError, match=r"cytokg-asserted\.nt"):
        open_store(tmp_path)


def test_bindings_results_offer_neutral_rows(engine: QueryEngine) -> None:
    """kg.query renders rows itself, so every engine's SELECT result supports take()."""
    from kg.store import BindingsResult, Term

    result = engine.query(f"SELECT ?s ?o WHERE {{ ?s <{BINDS}> ?o }} ORDER BY ?s")
    assert isinstance(result, BindingsResult)
    rows, truncated = result.take(2)
    assert result.variables == ["s", "o"]
    assert truncated is True
    assert rows[0][0] == Term("uri", "https://w3id.org/cytokg/IL1B")
