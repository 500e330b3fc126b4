"""GET /api/search on the real release: labels, synonyms, abbreviations, identifiers, ranked."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from srv_helpers import REPO, make_app

from server import runtime
from server.search import RANK, normalize

ENDPOINT_IRI = "https://w3id.org/cytokg/sparql"

IL6 = "https://w3id.org/cytokg/IL6"


@pytest.fixture(scope="module")
def real_app(real_release: Path) -> Iterator[Flask]:
    """The app over the project's own release (built once per session)."""
    app = make_app(real_release, queries_dir=REPO / "queries")
    yield app
    runtime(app).pool.close()


@pytest.fixture
def client(real_app: Flask) -> FlaskClient:
    """Flask test client on the real release."""
    return real_app.test_client()


@pytest.mark.parametrize(
    ("q", "match", "matched"),
    [
        ("IL-6", "exact synonym", "IL-6"),
        ("interleukin 6", "exact label", "interleukin 6"),
        ("Interleukin-6", "exact label", "interleukin 6"),
        ("BSF-2", "exact synonym", "BSF-2"),
        ("bsf 2", "exact synonym", "BSF-2"),
        ("P05231", "exact identifier", "P05231"),
        ("HGNC:6018", "exact identifier", "HGNC:6018"),
        ("hgnc 6018", "exact identifier", "HGNC:6018"),
    ],
)
def test_search_finds_il6_first(client: FlaskClient, q: str, match: str, matched: str) -> None:
    resp = client.get("/api/search", query_string={"q": q})
    assert resp.status_code == 200
    assert resp.mimetype == "application/json"
    doc = resp.get_json()
    assert doc["query"] == q
    first = doc["results"][0]
    assert first["iri"] == IL6
    assert first["label"] == "interleukin 6"
    assert first["page"] == "/IL6"
    assert first["match"] in (match, "exact identifier" if match == "exact synonym" else match)
    assert normalize(first["matched"]) == normalize(matched)


def test_ranking_orders_exact_before_prefix_before_substring(client: FlaskClient) -> None:
    results = client.get("/api/search?q=interleukin 6&limit=5").get_json()["results"]
    pairs = [(r["label"], r["match"]) for r in results]
    assert pairs[0] == ("interleukin 6", "exact label")
    # The catalogue grows; what holds is that prefix matches of the label come next.
    assert pairs[1] == ("interleukin 6 receptor", "prefix")
    assert [RANK[m] for _, m in pairs] == sorted(RANK[m] for _, m in pairs)
    ranks = [
        RANK[r["match"]] for r in client.get("/api/search?q=6&limit=100").get_json()["results"]
    ]
    assert ranks == sorted(ranks)
    assert {"prefix", "substring"} <= {
        r["match"] for r in client.get("/api/search?q=6&limit=100").get_json()["results"]
    }


def test_search_limit_bounds_the_answer(client: FlaskClient) -> None:
    assert len(client.get("/api/search?q=interleukin&limit=1").get_json()["results"]) == 1
    assert len(client.get("/api/search?q=interleukin").get_json()["results"]) == 10
    assert len(client.get("/api/search?q=e&limit=100").get_json()["results"]) == 100


def test_search_no_match_is_an_empty_list(client: FlaskClient) -> None:
    doc = client.get("/api/search?q=zzqqxx").get_json()
    assert doc == {"query": "zzqqxx", "results": []}


@pytest.mark.parametrize(
    ("query_string", "message"),
    [
        ("", "Give exactly one 'q' parameter, the text to search for."),
        ("q=a&q=b", "Give exactly one 'q' parameter, the text to search for."),
        ("q=--", "'q' must contain at least one letter or digit."),
        ("q=", "'q' must contain at least one letter or digit."),
        ("q=" + "x" * 201, "'q' is longer than 200 characters."),
        ("q=il6&limit=0", "'limit' must be an integer from 1 to 100."),
        ("q=il6&limit=101", "'limit' must be an integer from 1 to 100."),
        ("q=il6&limit=-1", "'limit' must be an integer from 1 to 100."),
        ("q=il6&limit=ten", "'limit' must be an integer from 1 to 100."),
        ("q=il6&limit=1&limit=2", "Give at most one 'limit' parameter."),
        ("q=il6&page=2", "Unknown parameter(s): page. Allowed: q, limit."),
    ],
)
def test_search_rejects_bad_parameters(
    client: FlaskClient, query_string: str, message: str
) -> None:
    resp = client.get("/api/search?" + query_string)
    assert resp.status_code == 400
    assert resp.get_data(as_text=True) == message + "\n"


def test_search_page_without_javascript(client: FlaskClient) -> None:
    page = client.get("/search?q=BSF-2").get_data(as_text=True)
    assert '<ol class="hits" id="search-results">' in page
    assert '<li><a href="/IL6">interleukin 6</a>' in page
    assert 'value="BSF-2"' in page  # the box keeps what was typed


def test_real_term_page_and_rdf(client: FlaskClient) -> None:
    page = client.get("/IL6", headers={"Accept": "text/html"}).get_data(as_text=True)
    assert '<h1 id="term-label">interleukin 6</h1>' in page
    assert 'href="https://www.uniprot.org/uniprotkb/P05231"' in page  # UniProt's own page
    assert '<a href="/SecRegulation"' in page  # provenance of a statement, linked
    turtle = client.get("/IL6.ttl")
    assert turtle.status_code == 200
    assert b"owl:Axiom" in turtle.get_data()


def test_real_term_urls_ignore_case_and_hyphens(client: FlaskClient) -> None:
    for path in ("/il6", "/IL-6", "/Il6", "/il-6"):
        resp = client.get(path, headers={"Accept": "text/html"})
        assert (resp.status_code, resp.headers["Location"]) == (301, "/IL6"), path
    assert client.get("/mm_il6").headers["Location"] == "/Mm_Il6"  # the mouse gene
    assert client.get("/IL6", headers={"Accept": "text/html"}).status_code == 200


def test_real_term_page_folds_ro_rows_and_links_identifiers(client: FlaskClient) -> None:
    page = client.get("/IL6", headers={"Accept": "text/html"}).get_data(as_text=True)
    outgoing = page.split('<table id="outgoing">', 1)[1].split("</table>", 1)[0]
    rows = re.findall(r"<tr[^>]*><td>(.*?)</td>", outgoing, re.S)
    assert rows and not [r for r in rows if r.startswith('<a href="http://purl.obolibrary')]
    assert "RO:0002436" in outgoing and "NamedIndividual" not in page
    for href in ("https://www.genenames.org/data/gene-symbol-report/#!/hgnc_id/HGNC:6018",
                 "https://www.ncbi.nlm.nih.gov/gene/3569",
                 "https://www.uniprot.org/uniprotkb/P05231"):
        assert f'href="{href}"' in page, href
    assert "Homo sapiens" in page.split('id="species"', 1)[1].split("</p>", 1)[0]


def test_no_real_term_is_shadowed_by_a_fixed_route(real_app: Flask) -> None:
    urls = real_app.url_map.bind("localhost")
    catalog = real_app.extensions["cytokg_pages"].catalog
    routed = {
        urls.match(catalog.local_path(iri))[0]
        for iri in catalog.terms
        if iri != ENDPOINT_IRI
    }
    assert routed == {"pages.resolve", "pages.release_ontology"}
    # The examples' schema:target is the endpoint's permanent IRI, which must reach the endpoint.
    assert ENDPOINT_IRI in catalog.terms
    assert urls.match(catalog.local_path(ENDPOINT_IRI))[0] == "sparql.sparql"
