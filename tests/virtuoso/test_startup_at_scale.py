"""Start-up of our endpoint in front of Virtuoso: indexed queries, capped answers read by pages.

A real ``virtuoso-t`` with a row cap far below the release's size stands in for a store whose
answers are cut (``ResultSetMaxRows``, as at 28 M triples): the catalogue, labels and search
index our endpoint reads at start-up must still be exactly those read from the embedded store.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from support import REPO
from virtuoso_helpers import VirtuosoServer

from kg.engines.remote import virtuoso_is_iri
from kg.publishers.virtuoso import publish
from kg.results import QueryResult, Term
from kg.store import GRAPH_FILES, QueryEngine, open_store
from server import create_app, runtime
from server.schema import Schema
from server.search import SearchIndex
from server.terms import Catalog, StartupError, select, select_pages

CAP = 1000  # rows per answer: the release's terms, labels and names each need several pages


def app_for(release: Path, store: str | None) -> Flask:
    """Our endpoint on the release (None: the embedded store)."""
    app = create_app({"release_dir": release, "executors": 1, "access_log": False,
                      "queries_dir": REPO / "queries", "store": store})
    app.config["TESTING"] = True
    return app


@pytest.fixture(scope="module")
def capped(real_release: Path, tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[VirtuosoServer]:
    """A Virtuoso that cuts every answer at ``CAP`` rows, with the release published."""
    server = VirtuosoServer(tmp_path_factory.mktemp("virtuoso-capped"), [real_release],
                            time_limit=60, max_rows=CAP)
    try:
        publish(real_release, server.sql, time_limit=60, max_rows=CAP)
        yield server
    finally:
        server.stop()


def test_is_iri_rewrite_keeps_strings_iris_and_other_names() -> None:
    query = ('SELECT ("isIRI(?x)" AS ?a) WHERE { <http://x/isIRI(?y)> ?p ?isIRI # isURI(?z)\n'
             "FILTER(isIRI(?s) && ISURI ( $o ) && ex:isIRI(?q) && isIRI(STR(?s))) }")
    assert virtuoso_is_iri(query) == (
        'SELECT ("isIRI(?x)" AS ?a) WHERE { <http://x/isIRI(?y)> ?p ?isIRI # isURI(?z)\n'
        "FILTER((!isBlank(?s) && !isLiteral(?s)) && (!isBlank($o) && !isLiteral($o)) "
        "&& ex:isIRI(?q) && isIRI(STR(?s))) }")


def test_rewritten_is_iri_answers_as_virtuoso_s_own(
    capped: VirtuosoServer, real_release: Path
) -> None:
    far = open_store(real_release, "oxigraph", f"sparql:{capped.sparql}")
    for test in ("isIRI(?o)", "isIRI(?s) && isBlank(?o)", "!isURI(?o)"):
        query = f"SELECT (COUNT(*) AS ?n) WHERE {{ ?s ?p ?o FILTER({test}) }}"
        kept = query.replace("(?o)", "((?o))").replace("(?s)", "((?s))")  # not rewritten
        assert virtuoso_is_iri(kept) == kept and virtuoso_is_iri(query) != query
        rewritten, original = select(far, query)[0][0], select(far, kept)[0][0]
        assert rewritten is not None and original is not None
        assert int(rewritten.value) == int(original.value) > 0, query


def test_capped_answer_is_reported_truncated(capped: VirtuosoServer, real_release: Path) -> None:
    far = open_store(real_release, "oxigraph", f"sparql:{capped.sparql}")
    result = far.query("SELECT ?s WHERE { ?s ?p ?o }")
    assert getattr(result, "capped_at", None) == CAP
    rows, truncated = result.take(None)  # type: ignore[attr-defined]
    assert len(rows) == CAP and truncated
    body = far.query("SELECT ?s WHERE { ?s ?p ?o }").serialize("json", 5 * CAP)
    assert body.count == CAP and body.truncated


class _KnowledgeGraphOnly:
    """The embedded store read with the dataset the remote one gets (no examples graph)."""

    def __init__(self, engine: QueryEngine) -> None:
        self.engine = engine

    def query(self, sparql: str) -> QueryResult:
        return self.engine.query(sparql, default_graphs=tuple(GRAPH_FILES))


def test_startup_through_a_capped_store_reads_everything(
    capped: VirtuosoServer, real_release: Path
) -> None:
    far = app_for(real_release, f"sparql:{capped.sparql}")
    try:
        got = far.extensions["cytokg_pages"]
        near = _KnowledgeGraphOnly(open_store(real_release))
        catalog = Catalog.load(near, got.catalog.base, real_release)  # type: ignore[arg-type]
        index = SearchIndex.build(near, catalog)  # type: ignore[arg-type]
        schema = Schema.load(near, catalog, runtime(far).manifest)  # type: ignore[arg-type]
        assert len(catalog.terms) > 2 * CAP and len(catalog.labels) > 2 * CAP
        assert got.catalog.terms == catalog.terms
        assert got.catalog.labels == catalog.labels
        assert len(index.entries) > 2 * CAP and got.index.entries == index.entries
        assert got.index.local_names == index.local_names
        assert got.schema.expressions.keys() == schema.expressions.keys()
        assert got.schema.counts == schema.counts
        page = far.test_client().get("/IL6")
        assert page.status_code == 200 and b"IL6" in page.data
    finally:
        runtime(far).pool.close()


class _Pages:
    """A stand-in store whose pages of one answer repeat a row (an unstable order)."""

    class Result:
        """One page of rows."""

        def __init__(self, rows: list[tuple[Term | None, ...]]) -> None:
            self.rows = rows

        def take(self, limit: int | None) -> tuple[list[tuple[Term | None, ...]], bool]:
            return self.rows, False

    def query(self, sparql: str) -> _Pages.Result:
        offset = int(sparql.rsplit("OFFSET", 1)[1])
        names = ["a", "b"] if offset == 0 else ["b", "c"] if offset == 2 else []
        return self.Result([(Term("uri", f"http://x/{n}"),) for n in names])


def test_pages_that_overlap_stop_startup() -> None:
    with pytest.raises(StartupError, match="overlap"):
        select_pages(_Pages(), "SELECT DISTINCT ?t WHERE { ?t ?p ?o }", 2)  # type: ignore[arg-type]
    with pytest.raises(StartupError, match="cut"):
        select_pages(_Pages(), "SELECT ?t WHERE { ?t ?p ?o }", 2)  # type: ignore[arg-type]
