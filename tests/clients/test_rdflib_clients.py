"""rdflib as a client of the real server: its SERVICE clause and its SPARQLStore."""

from __future__ import annotations

import pytest
from suites import rdflib_service_suite, sparqlstore_suite


def test_rdflib_service_clause_by_get_and_post(endpoint: str) -> None:
    outcomes = rdflib_service_suite(endpoint)
    assert [o.case for o in outcomes] == ["SERVICE GET", "SERVICE POST"]
    assert all(o.ok for o in outcomes), [o for o in outcomes if not o.ok]


@pytest.fixture(scope="module")
def store_outcomes(endpoint: str) -> dict[str, tuple[bool, str]]:
    return {o.case: (o.ok, o.detail) for o in sparqlstore_suite(endpoint)}


@pytest.mark.parametrize("method", ["GET", "POST", "POST_FORM"])
@pytest.mark.parametrize(
    ("case", "formats"),
    [
        ("SELECT", ("xml", "json")),
        ("ASK", ("xml", "json")),
        ("triples", ("xml", "json")),
        ("default-graph-uri", ("xml", "json")),
        ("CONSTRUCT", ("xml",)),
        ("DESCRIBE", ("xml",)),
    ],
)
def test_sparqlstore(
    store_outcomes: dict[str, tuple[bool, str]], case: str, formats: tuple[str, ...], method: str
) -> None:
    for fmt in formats:
        ok, detail = store_outcomes[f"{case} {method} {fmt}"]
        assert ok, f"{case} {method} {fmt}: {detail}"
