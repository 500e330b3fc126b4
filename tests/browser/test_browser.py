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


def test_home_leads_with_search_catalogue_figure_and_all_questions(
    page: Page, live: LiveServer
) -> None:
    page.goto(live.base + "/")
    search = page.locator("#home-search")
    assert search.is_visible()
    box = search.bounding_box()
    assert box is not None and box["y"] < 250  # the first thing on the page
    counts = dict(
        (name.strip(), int(n.replace(",", "")))
        for n, name in (li.split(" ", 1) for li in page.locator("#counts li").all_inner_texts())
    )
    assert set(counts) == {"triples", "cytokines", "receptors", "drugs", "diseases",
                           "cell types", "families"}
    assert all(n > 0 for n in counts.values()), counts
    families = page.locator("#families > li")
    assert families.count() >= 5
    il6_family = page.locator('#families a[href="/IL6Family"]')
    assert il6_family.count() == 1
    assert int(page.locator('#families li:has(> a[href="/IL6Family"]) > .count').inner_text()) > 1
    # the overview figure is drawn inline (an SVG image that loaded, with a size)
    figure = page.locator("#overview img")
    expect(figure).to_be_visible()
    assert figure.evaluate("img => img.complete && img.naturalWidth > 0")
    # every competency question is listed, each opening the query page
    rq = sorted(p.stem for p in (REPO / "queries").glob("*.rq"))
    links = page.locator("#examples a.example")
    assert sorted(links.evaluate_all("els => els.map(e => e.dataset.name)")) == rq
    screenshot(page, "home-catalogue")
    page.locator(f'#examples a.example[data-name="{EXAMPLE}"]').click()
    page.wait_for_url(live.base + f"/query?example={EXAMPLE}")
    expect(page.locator("#status")).to_contain_text("results in")
    _, rows = result_table(page)
    assert rows == expected_rows(EXAMPLE)
    # the family page lists the family's members and its place in the family tree
    page.goto(live.base + "/IL6Family")
    expect(page.locator("#family-tree li.marked > a")).to_have_text("IL-6 family")
    screenshot(page, "term-family")


def test_overview_svg_displays_instead_of_downloading(page: Page, live: LiveServer) -> None:
    resp = page.goto(live.base + "/downloads/overview.svg")
    assert resp is not None and resp.status == 200
    assert resp.headers["content-type"].split(";")[0] == "image/svg+xml"
    assert "attachment" not in resp.headers.get("content-disposition", "")
    assert page.locator("svg text").count() >= 1  # drawn, not downloaded
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "overview.png"))  # an SVG document: no full page


def test_term_page_for_a_biologist(page: Page, live: LiveServer) -> None:
    page.goto(live.base + "/IL6")
    # each relation once, under its own label; the RO property is a note on the row
    properties = page.locator("#outgoing tbody tr td:first-child a").all_inner_texts()
    assert "molecularly interacts with" not in properties
    row = page.locator("#outgoing tbody tr", has_text="binds receptor").first
    expect(row.locator(".mapping")).to_contain_text("RO:0002436")
    expect(row.locator(".mapping")).to_contain_text("molecularly interacts with")
    assert "NamedIndividual" not in page.content()
    assert "anonymous" not in page.locator("#term").inner_text()
    # identifiers labelled and linked to their databases
    ids = {
        a.locator(".db").inner_text(): a.get_attribute("href")
        for a in page.locator("#identifiers a.identifier").all()
    }
    assert ids["HGNC"] == "https://www.genenames.org/data/gene-symbol-report/#!/hgnc_id/HGNC:6018"
    assert ids["NCBI Gene"] == "https://www.ncbi.nlm.nih.gov/gene/3569"
    assert ids["UniProt"] == "https://www.uniprot.org/uniprotkb/P05231"
    # species, class hierarchy up to the top, family tree
    expect(page.locator("#species")).to_contain_text("Homo sapiens")
    tree = page.locator("#class-tree")
    expect(tree.locator("> li > a").first).to_be_visible()
    assert "interleukin" in tree.locator("li.marked > a").all_inner_texts()
    assert tree.locator('li:has(a[href="/Cytokine"]) li.marked a[href="/Interleukin"]').count()
    family = page.locator("#family-tree")
    assert family.locator("li.marked > a").all_inner_texts() == ["IL-6 family"]
    assert family.locator('> li > a[href="/FourHelixBundleFamily"]').count() == 1
    screenshot(page, "term-il6-biologist")
    # the "why?" of an inferred statement
    page.locator("#outgoing tr.inferred a.why").first.click()
    page.wait_for_url("**/explain?**")
    expect(page.locator("#tree .step").first).to_be_visible()
    screenshot(page, "explain")


def test_class_expressions_read_as_manchester(page: Page, live: LiveServer) -> None:
    page.goto(live.base + "/ChemokineReceptor")
    texts = page.locator("#outgoing .expression").all_inner_texts()
    assert "cytokine receptor and (is receptor for some chemokine)" in texts
    expect(page.locator("#members")).to_contain_text("C-C motif chemokine receptor 5")
    screenshot(page, "term-class")
    page.goto(live.base + "/Lymphokine")
    assert page.locator("#outgoing .expression").all_inner_texts() == [
        "cytokine and (produced by value lymphocyte)"
    ]


def test_loose_term_urls_reach_the_term(page: Page, live: LiveServer) -> None:
    for spelling in ("il6", "IL-6", "Il6", "interleukin-6"):
        page.goto(live.base + "/" + spelling)
        assert page.url == live.base + "/IL6", spelling
        expect(page.locator("#term-label")).to_have_text("interleukin 6")


def test_overview_labels_are_not_clipped(page: Page, live: LiveServer) -> None:
    """Every label of the overview figure lies inside the drawing (last: the figure is drawn
    by kg/stats.py, and a clipped label there is a defect of the release, not of the page)."""
    page.goto(live.base + "/downloads/overview.svg")
    clipped = page.evaluate(
        """() => {
          const svg = document.querySelector('svg');
          const w = svg.width.baseVal.value, h = svg.height.baseVal.value;
          return Array.from(svg.querySelectorAll('text')).filter(t => {
            const r = t.getBoundingClientRect();
            return r.left < -0.5 || r.top < -0.5 || r.right > w + 0.5 || r.bottom > h + 0.5;
          }).map(t => t.textContent);
        }"""
    )
    assert clipped == []
