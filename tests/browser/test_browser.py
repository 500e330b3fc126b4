"""The query page, term pages and search box in a real browser (headless Chromium)."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import requests
from playwright.sync_api import Page, expect

from tests.endpoint.srv_helpers import REPO, LiveServer

EXAMPLE = "06-il6-producing-cell-types"
SCREENSHOTS = REPO / "build" / "screenshots"


def screenshot(tab: Page, name: str) -> Path:
    """Save a full-page screenshot under build/screenshots/ for review."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    tab.screenshot(path=str(path), full_page=True)
    return path


def expected_rows(name: str) -> list[list[str]]:
    """The expected answer of a competency question (its .expected.tsv, without the header)."""
    text = (REPO / "queries" / f"{name}.expected.tsv").read_text(encoding="utf-8")
    return [line.split("\t") for line in text.splitlines()[1:] if line]


def result_table(tab: Page) -> tuple[list[str], list[list[str]]]:
    """Header and cell texts of the results table."""
    header = tab.locator("#results thead th").all_inner_texts()
    rows = [row.locator("td").all_inner_texts() for row in tab.locator("#results tbody tr").all()]
    return header, rows


def test_query_page_runs_an_example_and_links_results(page: Page, live: LiveServer) -> None:
    page.goto(live.base + "/query")
    assert page.title() == "Query: Cytokine Knowledge Graph"
    # the editor is highlighted by our own tokenizer
    assert "SELECT" in page.locator("#highlight .tok-keyword").all_inner_texts()
    question = (REPO / "queries" / f"{EXAMPLE}.rq").read_text(encoding="utf-8").splitlines()[0]
    link = page.locator(f'a.example[data-name="{EXAMPLE}"]')
    assert "# Question: " + link.inner_text() == question
    link.click()
    expect(page.locator("#status")).to_contain_text("results in")
    expected = expected_rows(EXAMPLE)
    header, rows = result_table(page)
    assert header == ["cellType"]
    assert rows == expected
    assert page.locator("#status").inner_text().startswith(f"{len(expected)} results in ")
    # the query is in the address, so the link can be shared
    shared = parse_qs(urlsplit(page.url).query)["query"][0]
    assert shared == (REPO / "queries" / f"{EXAMPLE}.rq").read_text(encoding="utf-8")
    # downloads: one link per tabular format, each answering in that format
    hrefs = {
        a.inner_text(): a.get_attribute("href")
        for a in page.locator("#downloads a.download:visible").all()
    }
    assert sorted(hrefs) == ["csv", "json", "tsv", "xml"]
    resp = requests.get(live.base + hrefs["csv"], timeout=10)
    assert resp.headers["Content-Type"] == "text/csv; charset=utf-8"
    csv_rows = list(csv.reader(io.StringIO(resp.text)))
    assert len(csv_rows) == len(expected) + 1
    screenshot(page, "query")

    # follow a result link to its term page
    first = page.locator("#results tbody a").first
    assert first.inner_text() == expected[0][0]
    first.click()
    page.wait_for_url(live.base + "/" + expected[0][0].split(":", 1)[1])
    assert page.locator("#term-iri").inner_text() == (
        "https://w3id.org/cytokg/" + expected[0][0].split(":", 1)[1]
    )
    assert page.locator("#incoming").count() == 1
    screenshot(page, "term")


def test_shared_query_link_runs_on_load(page: Page, live: LiveServer) -> None:
    query = "ASK { <https://w3id.org/cytokg/IL6> ?p ?o }"
    page.goto(live.base + "/query?" + requests.compat.urlencode({"query": query}))
    expect(page.locator("#status")).to_contain_text("Answer")
    assert page.locator("#status").inner_text().startswith("Answer: yes (true) in ")
    assert page.locator("#query").input_value() == query


def test_construct_results_and_query_errors(page: Page, live: LiveServer) -> None:
    page.goto(live.base + "/query")
    page.locator("#query").fill(
        "PREFIX cytokg: <https://w3id.org/cytokg/> CONSTRUCT { cytokg:IL6 ?p ?o } "
        "WHERE { cytokg:IL6 ?p ?o FILTER(?p = cytokg:hgncId) }"
    )
    page.locator("#run").click()
    expect(page.locator("#status")).to_contain_text("triples")
    header, rows = result_table(page)
    assert header == ["subject", "predicate", "object"]
    assert rows == [["cytokg:IL6", "cytokg:hgncId", "HGNC:6018"]]
    graph_formats = page.locator("#downloads a.download:visible").all_inner_texts()
    assert graph_formats == ["turtle", "jsonld", "nt", "rdfxml"]
    page.locator("#query").fill("SELECT WHERE {")
    page.keyboard.press("Control+Enter")
    expect(page.locator("#status")).to_have_class("error")
    assert page.locator("#status").inner_text().startswith("Error 400: Query parse error")


def test_search_box_finds_a_term(page: Page, live: LiveServer) -> None:
    page.goto(live.base + "/")
    screenshot(page, "home")
    page.locator("#search-box").fill("BSF-2")
    suggestion = page.locator("#search-suggestions a").first
    suggestion.wait_for()
    assert suggestion.inner_text().startswith("interleukin 6")
    page.locator("#search-box").press("Enter")
    page.wait_for_url(live.base + "/search?q=BSF-2")
    hits = page.locator("#search-results a")
    assert hits.first.inner_text() == "interleukin 6"
    screenshot(page, "search")
    hits.first.click()
    page.wait_for_url(live.base + "/IL6")
    assert page.locator("#term-label").inner_text() == "interleukin 6"
    assert "inferred" in page.locator("#types").inner_text()
    screenshot(page, "term-il6")
