"""Term IRIs resolve (HTML and RDF), term pages, ontology/version IRIs, downloads, docs, query page.

A small hand-written release (below) holds one of each thing a page shows: asserted and
inferred types, relations both ways, an axiom annotation with its source, a mapping, and a
label holding markup.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from collections.abc import Iterator
from html import unescape
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, OWL, RDF
from srv_helpers import REPO, make_app

from server import runtime

NS = "https://w3id.org/cytokg/"
A = NS + "graph/asserted"
I = NS + "graph/inferred"  # noqa: E741 - the inferred graph, short for the table below
T = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
LABEL = "http://www.w3.org/2000/01/rdf-schema#label"
SKOS = "http://www.w3.org/2004/02/skos/core#"
OWL_NS = "http://www.w3.org/2002/07/owl#"
SOURCE = "http://purl.org/dc/terms/source"
UNIPROT = "http://purl.uniprot.org/uniprot/P05231"
RO_INTERACTS = "http://purl.obolibrary.org/obo/RO_0002436"
RDFS_NS = "http://www.w3.org/2000/01/rdf-schema#"
RDF_NS = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
EVIL = '<script>alert("x")</script> & co'


def iri(x: str) -> str:
    """N-Triples IRI."""
    return f"<{x}>"


def lit(value: str, lang: str | None = "en") -> str:
    """N-Triples literal (simple escaping is enough for this fixture)."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"@{lang}' if lang else f'"{escaped}"'


ASSERTED = [
    (iri(NS + "cytokg.owl"), iri(T), iri(OWL_NS + "Ontology")),
    (iri(NS + "cytokg.owl"), iri(LABEL), lit("Cytokine Knowledge Graph")),
    (iri(NS + "cytokg.owl"), iri(OWL_NS + "versionIRI"), iri(NS + "releases/0.1.0/cytokg.owl")),
    (iri(NS + "Cytokine"), iri(LABEL), lit("cytokine")),
    (iri(NS + "Protein"), iri(LABEL), lit("protein")),
    (iri(NS + "bindsReceptor"), iri(LABEL), lit("binds receptor")),
    (iri(NS + "isBoundBy"), iri(LABEL), lit("is bound by")),
    (iri(NS + "IL6"), iri(T), iri(NS + "Cytokine")),
    (iri(NS + "IL6"), iri(LABEL), lit("interleukin 6")),
    (iri(NS + "IL6"), iri(SKOS + "altLabel"), lit("IL-6")),
    (iri(NS + "IL6"), iri(SKOS + "altLabel"), lit("BSF-2")),
    (iri(NS + "IL6"), iri(SKOS + "definition"), lit("A pleiotropic cytokine.")),
    (iri(NS + "IL6"), iri(NS + "hgncId"), lit("HGNC:6018", None)),
    (iri(NS + "IL6"), iri(NS + "uniprotId"), lit("P05231", None)),
    (iri(NS + "IL6"), iri(SKOS + "exactMatch"), iri(UNIPROT)),
    (iri(NS + "IL6"), iri(SOURCE), iri(NS + "UniProtRecord")),
    (iri(NS + "IL6"), iri(NS + "bindsReceptor"), iri(NS + "IL6R")),
    (iri(NS + "IL6R"), iri(LABEL), lit("interleukin 6 receptor")),
    (iri(NS + "UniProtRecord"), iri(LABEL), lit("UniProt record")),
    ("_:ax1", iri(T), iri(OWL_NS + "Axiom")),
    ("_:ax1", iri(OWL_NS + "annotatedSource"), iri(NS + "IL6")),
    ("_:ax1", iri(OWL_NS + "annotatedProperty"), iri(NS + "bindsReceptor")),
    ("_:ax1", iri(OWL_NS + "annotatedTarget"), iri(NS + "IL6R")),
    ("_:ax1", iri(SOURCE), iri(NS + "UniProtRecord")),
    (iri(NS + "Evil"), iri(LABEL), lit(EVIL)),
    (iri(NS + "Evil"), iri(SKOS + "definition"), lit("<b>bold</b> claims")),
    # schema: an RO super-property, an inverse, a class hierarchy, a defined class
    (iri(NS + "bindsReceptor"), iri(RDFS_NS + "subPropertyOf"), iri(RO_INTERACTS)),
    (iri(RO_INTERACTS), iri(LABEL), lit("molecularly interacts with")),
    (iri(NS + "isBoundBy"), iri(OWL_NS + "inverseOf"), iri(NS + "bindsReceptor")),
    (iri(NS + "Cytokine"), iri(RDFS_NS + "subClassOf"), iri(NS + "Protein")),
    (iri(NS + "Cytokine"), iri(T), iri(OWL_NS + "Class")),
    (iri(NS + "IL6"), iri(T), iri(OWL_NS + "NamedIndividual")),
    (iri(NS + "Lymphokine"), iri(LABEL), lit("lymphokine")),
    (iri(NS + "Lymphokine"), iri(OWL_NS + "equivalentClass"), "_:lk"),
    ("_:lk", iri(OWL_NS + "intersectionOf"), "_:l1"),
    ("_:l1", iri(RDF_NS + "first"), iri(NS + "Cytokine")),
    ("_:l1", iri(RDF_NS + "rest"), "_:l2"),
    ("_:l2", iri(RDF_NS + "first"), "_:hv"),
    ("_:l2", iri(RDF_NS + "rest"), iri(RDF_NS + "nil")),
    ("_:hv", iri(T), iri(OWL_NS + "Restriction")),
    ("_:hv", iri(OWL_NS + "onProperty"), iri(NS + "producedBy")),
    ("_:hv", iri(OWL_NS + "hasValue"), iri(NS + "Lymphocyte")),
    (iri(NS + "producedBy"), iri(LABEL), lit("produced by")),
    (iri(NS + "Lymphocyte"), iri(LABEL), lit("lymphocyte")),
    # identifiers, species, family
    (iri(NS + "IL6"), iri(NS + "ncbiGeneId"), lit("3569", None)),
    (iri(NS + "IL6"), iri(NS + "inTaxon"), iri(NS + "HomoSapiens")),
    (iri(NS + "inTaxon"), iri(RDFS_NS + "subPropertyOf"),
     iri("http://purl.obolibrary.org/obo/RO_0002162")),
    (iri(NS + "HomoSapiens"), iri(LABEL), lit("human")),
    (iri(NS + "HomoSapiens"), iri(SKOS + "altLabel"), lit("Homo sapiens")),
    (iri(NS + "IL6"), iri(NS + "memberOfFamily"), iri(NS + "IL6Family")),
    (iri(NS + "IL6Family"), iri(T), iri(NS + "ProteinFamily")),
    (iri(NS + "IL6Family"), iri(LABEL), lit("IL-6 family")),
    (iri(NS + "IL6Family"), iri(NS + "subfamilyOf"), iri(NS + "HelixFamily")),
    (iri(NS + "HelixFamily"), iri(T), iri(NS + "ProteinFamily")),
    (iri(NS + "HelixFamily"), iri(LABEL), lit("four-helix bundle family")),
    (iri(NS + "memberOfFamily"), iri(LABEL), lit("member of family")),
    (iri(NS + "Tocilizumab"), iri(LABEL), lit("tocilizumab")),
    (iri(NS + "Tocilizumab"), iri(NS + "targets"), iri(NS + "IL6")),
    (iri(NS + "targets"), iri(LABEL), lit("targets")),
    # one synonym shared by two terms: a URL spelling it is ambiguous
    (iri(NS + "IL6R"), iri(SKOS + "altLabel"), lit("twin")),
    (iri(NS + "Evil"), iri(SKOS + "altLabel"), lit("twin")),
]
INFERRED = [
    (iri(NS + "IL6"), iri(T), iri(NS + "Protein")),
    (iri(NS + "IL6R"), iri(NS + "isBoundBy"), iri(NS + "IL6")),
    (iri(NS + "IL6"), iri(RO_INTERACTS), iri(NS + "IL6R")),
    (iri(NS + "IL6"), iri(T), iri("http://www.w3.org/2002/07/owl#Thing")),
    (iri(NS + "IL6"), iri(NS + "memberOfFamily"), iri(NS + "HelixFamily")),
    (iri(NS + "IL6"), iri("http://purl.obolibrary.org/obo/RO_0002162"), iri(NS + "HomoSapiens")),
    (iri(NS + "IL2"), iri(T), iri(NS + "Lymphokine")),
]
ONTOLOGY_TTL = "# the whole ontology, Turtle\n"
ONTOLOGY_OWL = "<?xml version='1.0'?><!-- the whole ontology, RDF/XML --><rdf:RDF/>\n"
SECRET = "NOT-IN-MANIFEST-4b1d"
CONTEXT = {"skos": SKOS, "UniProtKB": "http://purl.uniprot.org/uniprot/", "cytokg": NS,
           "RO": "http://purl.obolibrary.org/obo/RO_"}
OVERVIEW_SVG = '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>\n'



def write_pages_release(directory: Path) -> Path:
    """Write the fixture release (with a file the manifest does not name) into ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    files = {
        "cytokg-asserted.nt": "".join(f"{s} {p} {o} .\n" for s, p, o in ASSERTED),
        "cytokg-inferred.nt": "".join(f"{s} {p} {o} .\n" for s, p, o in INFERRED),
        "cytokg.ttl": ONTOLOGY_TTL,
        "cytokg.owl": ONTOLOGY_OWL,
        "void.ttl": "<https://w3id.org/cytokg/> a <http://rdfs.org/ns/void#Dataset> .\n",
        "context.jsonld": json.dumps({"@context": CONTEXT}),
        "overview.svg": OVERVIEW_SVG,
    }
    for name, text in files.items():
        (directory / name).write_text(text, encoding="utf-8")
    manifest = {
        "version": "0.1.0",
        "files": {n: hashlib.sha256(t.encode()).hexdigest() for n, t in files.items()},
    }
    (directory / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    (directory / "secret.txt").write_text(SECRET, encoding="utf-8")
    return directory


@pytest.fixture(scope="module")
def pages_release(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fixture release, once per module."""
    return write_pages_release(tmp_path_factory.mktemp("pages") / "release")


@pytest.fixture(scope="module")
def queries_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two competency questions, one with markup in its question."""
    folder = tmp_path_factory.mktemp("queries")
    (folder / "01-binders.rq").write_text(
        "# Question: Which cytokines bind which receptor?\n"
        "SELECT ?c ?r WHERE { ?c <https://w3id.org/cytokg/bindsReceptor> ?r }\n",
        encoding="utf-8",
    )
    (folder / "02-ask.rq").write_text(
        "# Question: Is there a <b>bold</b> label?\nASK { ?s ?p ?o }\n", encoding="utf-8"
    )
    (folder / "not-a-query.txt").write_text("ignored", encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def pages_app(pages_release: Path, queries_dir: Path) -> Iterator[Flask]:
    """One app over the fixture release for the whole module (read-only tests)."""
    app = make_app(pages_release, queries_dir=queries_dir)
    yield app
    runtime(app).pool.close()


@pytest.fixture
def client(pages_app: Flask) -> FlaskClient:
    """Flask test client on the module's app."""
    return pages_app.test_client()


HTML = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


def table_rows(page: str, table_id: str) -> list[list[str]]:
    """The text of each cell of each body row of the table with this id."""
    found = re.search(rf'<table id="{table_id}">(.*?)</table>', page, re.S)
    assert found, f"no table {table_id}"
    body = found.group(1).split("<tbody>", 1)[1]
    rows = []
    for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S):
        cells = re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
        rows.append([" ".join(unescape(re.sub(r"<[^>]+>", "", c)).split()) for c in cells])
    return rows


def links(page: str) -> dict[str, str]:
    """Link text -> href for every anchor of a page."""
    return {
        " ".join(unescape(re.sub(r"<[^>]+>", "", text)).split()): unescape(href)
        for href, text in re.findall(r'<a href="([^"]*)"[^>]*>(.*?)</a>', page, re.S)
    }


# --------------------------------------------------------------------------- term pages


def test_term_page_shows_every_section(client: FlaskClient) -> None:
    resp = client.get("/IL6", headers=HTML)
    assert resp.status_code == 200
    assert resp.content_type == "text/html; charset=utf-8"
    page = resp.get_data(as_text=True)
    assert '<h1 id="term-label">interleukin 6</h1>' in page
    assert '<code id="term-iri">https://w3id.org/cytokg/IL6</code>' in page
    assert '<p class="definition" id="definition">A pleiotropic cytokine.</p>' in page
    assert re.findall(r'<span class="synonym">([^<]*)</span>', page) == ["BSF-2", "IL-6"]
    types = re.search(r'<p class="types" id="types">(.*?)</p>', page, re.S).group(1)  # type: ignore[union-attr]
    assert re.findall(r'class="type (\w+)"[^>]*><a href="([^"]+)"', types) == [
        ("asserted", "/Cytokine"),
        ("inferred", "/Protein"),
    ]
    assert table_rows(page, "outgoing") == [
        ["binds receptor ⊑ RO:0002436 molecularly interacts with", "interleukin 6 receptor",
         "asserted", "UniProt record"],
        ["member of family", "IL-6 family", "asserted", ""],
        ["member of family", "four-helix bundle family", "inferred", ""],
    ]
    assert table_rows(page, "incoming") == [["tocilizumab", "targets", "asserted", ""]]
    assert table_rows(page, "mappings") == [["exact match", f"UniProt P05231 {UNIPROT}", ""]]
    found = links(page)
    assert found["interleukin 6 receptor"] == "/IL6R"
    assert found["binds receptor"] == "/bindsReceptor"
    assert found["UniProt record"] == "/UniProtRecord"
    assert found["UniProt P05231"] == "https://www.uniprot.org/uniprotkb/P05231"
    assert found["turtle"] == "/IL6.ttl"
    assert re.findall(r'<ul id="sources"><li><a href="([^"]+)"', page) == ["/UniProtRecord"]


def test_each_relation_is_shown_once_without_owl_bookkeeping(client: FlaskClient) -> None:
    page = client.get("/IL6", headers=HTML).get_data(as_text=True)
    rows = table_rows(page, "outgoing") + table_rows(page, "incoming")
    # the RO super-property is a note on our row, never a row of its own
    assert [r for r in rows if r[0].startswith("molecularly")] == []
    assert page.count(RO_INTERACTS) == 1  # in the note only
    note = re.search(r'<span class="mapping" title="([^"]*)">(.*?)</span>', page, re.S)
    assert note and note.group(1) == f"a sub-property of {RO_INTERACTS}"
    # the inverse (IL6R is bound by IL6) is the asserted row seen from the other side
    assert "is bound by" not in page
    # the species comes from inTaxon, not as a row under RO:0002162
    assert re.search(r'<p class="species" id="species">.*?</p>', page, re.S).group(0).count(  # type: ignore[union-attr]
        "human (Homo sapiens)") == 1
    assert "RO_0002162" not in page
    for hidden in ("NamedIndividual", "owl#Thing", "anonymous", "Axiom"):
        assert hidden not in page, hidden
    lymphokine = client.get("/Lymphokine", headers=HTML).get_data(as_text=True)
    [expr] = re.findall(r'<span class="expression">(.*?)</span></td>', lymphokine, re.S)
    assert " ".join(unescape(re.sub(r"<[^>]+>", "", expr)).split()) == (
        "cytokine and (produced by value lymphocyte)"
    )
    assert links(expr) == {"cytokine": "/Cytokine", "produced by": "/producedBy",
                           "lymphocyte": "/Lymphocyte"}
    assert table_rows(lymphokine, "outgoing") == [
        ["equivalent to", "cytokine and (produced by value lymphocyte)", "asserted", ""]
    ]
    assert "owl#Restriction" not in lymphokine and "anonymous" not in lymphokine


def test_identifiers_are_labelled_links(client: FlaskClient) -> None:
    page = client.get("/IL6", headers=HTML).get_data(as_text=True)
    found = re.findall(
        r'<a class="identifier external" rel="noopener" href="([^"]+)">'
        r'<span class="db">([^<]+)</span> ([^<]+)</a>',
        page,
    )
    assert found == [
        ("https://www.genenames.org/data/gene-symbol-report/#!/hgnc_id/HGNC:6018", "HGNC",
         "HGNC:6018"),
        ("https://www.ncbi.nlm.nih.gov/gene/3569", "NCBI Gene", "3569"),
        ("https://www.uniprot.org/uniprotkb/P05231", "UniProt", "P05231"),  # once, not twice
    ]


def test_class_hierarchy_and_family_tree(client: FlaskClient) -> None:
    page = client.get("/IL6", headers=HTML).get_data(as_text=True)

    def tree(tree_id: str) -> list[tuple[str, str]]:
        found = re.search(rf'<ul class="hierarchy" id="{tree_id}">(.*)', page, re.S)
        assert found, tree_id
        body = found.group(1).split("</section>", 1)[0]
        return re.findall(r'<li( class="marked")?><a href="([^"]+)"', body)

    assert tree("class-tree") == [("", "/Protein"), (' class="marked"', "/Cytokine")]
    assert tree("family-tree") == [("", "/HelixFamily"), (' class="marked"', "/IL6Family")]
    family = client.get("/HelixFamily", headers=HTML).get_data(as_text=True)
    assert re.search(r'id="subfamilies">.*?<a href="/IL6Family"', family, re.S)


@pytest.mark.parametrize(
    ("path", "location"),
    [
        ("/il6", "/IL6"),
        ("/IL-6", "/IL6"),
        ("/Il6", "/IL6"),
        ("/il6.ttl", "/IL6.ttl"),
        ("/interleukin-6", "/IL6"),  # by label
        ("/bsf2", "/IL6"),  # by synonym
        ("/il6?x=1", "/IL6?x=1"),
    ],
)
def test_loose_term_urls_redirect(client: FlaskClient, path: str, location: str) -> None:
    resp = client.get(path, headers=HTML)
    assert resp.status_code == 301
    assert resp.headers["Location"] == location
    assert client.get(location.split("?")[0], headers=HTML).status_code == 200


def test_ambiguous_term_urls_go_to_search(client: FlaskClient) -> None:
    resp = client.get("/TWIN", headers=HTML)
    assert resp.status_code == 302
    assert resp.headers["Location"] == "/search?q=TWIN"
    hits = client.get(resp.headers["Location"], headers=HTML).get_data(as_text=True)
    assert sorted(re.findall(r'<li><a href="(/[^"]+)">', hits)) == ["/Evil", "/IL6R"]
    assert client.get("/IL6", headers=HTML).status_code == 200  # exact names never redirect


def test_home_page_leads_with_search_and_the_catalogue(client: FlaskClient) -> None:
    page = client.get("/", headers=HTML).get_data(as_text=True)
    main = page.split("<main>", 1)[1]
    assert main.index('id="home-search"') < main.index('id="families"')
    counts = dict((name, int(n.replace(",", ""))) for n, name in re.findall(
        r"<li><strong>([\d,]+)</strong> ([^<]+)</li>", page))
    assert counts == {"triples": len(ASSERTED) + len(INFERRED), "cytokines": 1, "receptors": 0,
                      "drugs": 0, "diseases": 0, "cell types": 0, "families": 2}
    families = re.search(r'<ul class="hierarchy" id="families">(.*?)</section>', page, re.S)
    assert families
    assert re.findall(r'<a href="([^"]+)"[^>]*>([^<]+)</a> <span class="count"[^>]*>(\d+)<',
                      families.group(1)) == [("/HelixFamily", "four-helix bundle family", "1"),
                                             ("/IL6Family", "IL-6 family", "1")]
    assert '<img src="/downloads/overview.svg"' in page
    examples = re.findall(r'<a class="example" data-name="([^"]+)" href="([^"]+)">', page)
    assert examples == [("01-binders", "/query?example=01-binders"),
                        ("02-ask", "/query?example=02-ask")]


def test_overview_figure_displays_inline(client: FlaskClient) -> None:
    resp = client.get("/downloads/overview.svg")
    assert resp.status_code == 200
    assert resp.mimetype == "image/svg+xml"
    assert "attachment" not in resp.headers.get("Content-Disposition", "")
    assert "script-src" not in resp.headers["Content-Security-Policy"]
    assert "default-src 'none'" in resp.headers["Content-Security-Policy"]
    assert resp.get_data(as_text=True) == OVERVIEW_SVG


def test_example_links_open_on_the_query_page(client: FlaskClient) -> None:
    page = client.get("/query?example=01-binders", headers=HTML).get_data(as_text=True)
    textarea = re.search(r"<textarea id=\"query\"[^>]*>(.*?)</textarea>", page, re.S).group(1)  # type: ignore[union-attr]
    assert unescape(textarea).startswith("# Question: Which cytokines bind which receptor?\n")
    assert '"autorun": true' in page
    assert client.get("/query?example=99-none", headers=HTML).status_code == 404


def test_html_pages_carry_security_headers(client: FlaskClient) -> None:
    for path in ("/IL6", "/", "/query", "/search?q=il6", "/downloads/", "/sparql", "/nothing"):
        resp = client.get(path, headers=HTML)
        assert resp.mimetype == "text/html", path
        csp = resp.headers["Content-Security-Policy"]
        assert "script-src 'self';" in csp and "unsafe-inline" not in csp, path
        assert resp.headers["X-Content-Type-Options"] == "nosniff", path
        page = resp.get_data(as_text=True)
        assert "<style" not in page and " style=" not in page, path
        # every script and stylesheet is served by this package
        assert re.findall(r'<script src="([^"]+)"', page) and all(
            src.startswith("/static/") for src in re.findall(r'<script src="([^"]+)"', page)
        ), path
        assert all(
            h.startswith("/static/") for h in re.findall(r'rel="stylesheet" href="([^"]+)"', page)
        ), path


def test_markup_in_labels_is_escaped(client: FlaskClient) -> None:
    page = client.get("/Evil", headers=HTML).get_data(as_text=True)
    escaped = "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; co"
    assert f'<h1 id="term-label">{escaped}</h1>' in page
    assert f"<title>{escaped}: Cytokine Knowledge Graph</title>" in page
    assert "&lt;b&gt;bold&lt;/b&gt; claims" in page
    assert "<script>alert" not in page and "<b>bold" not in page
    hits = client.get("/search?q=alert", headers=HTML).get_data(as_text=True)
    assert f'<a href="/Evil">{escaped}</a>' in hits and "<script>alert" not in hits
    api = client.get("/api/search?q=alert").get_json()
    assert api["results"][0]["label"] == EVIL  # JSON carries the data as it is


@pytest.mark.parametrize(
    ("accept", "media_type", "fmt"),
    [
        ("text/turtle", "text/turtle", "turtle"),
        ("application/ld+json", "application/ld+json", "json-ld"),
        ("application/n-triples", "application/n-triples", "nt"),
        ("application/rdf+xml", "application/rdf+xml", "xml"),
    ],
)
def test_term_rdf_by_accept(client: FlaskClient, accept: str, media_type: str, fmt: str) -> None:
    resp = client.get("/IL6", headers={"Accept": accept})
    assert resp.status_code == 200
    assert resp.mimetype == media_type
    assert resp.headers["Vary"] == "Accept"
    check_il6_graph(Graph().parse(data=resp.get_data(), format=fmt))


@pytest.mark.parametrize(
    ("suffix", "media_type", "fmt"),
    [
        (".ttl", "text/turtle", "turtle"),
        (".jsonld", "application/ld+json", "json-ld"),
        (".nt", "application/n-triples", "nt"),
        (".rdf", "application/rdf+xml", "xml"),
        (".owl", "application/rdf+xml", "xml"),
    ],
)
def test_term_rdf_by_extension(client: FlaskClient, suffix: str, media_type: str, fmt: str) -> None:
    resp = client.get("/IL6" + suffix, headers=HTML)  # the extension wins over Accept
    assert resp.status_code == 200
    assert resp.mimetype == media_type
    check_il6_graph(Graph().parse(data=resp.get_data(), format=fmt))


def check_il6_graph(g: Graph) -> None:
    """IL6's outgoing triples (asserted and inferred) plus its axiom annotation, nothing else."""
    il6 = URIRef(NS + "IL6")
    named = {(s, p, o) for s, p, o in g if not isinstance(s, BNode)}
    lines = [f"{s} {p} {o} .\n" for s, p, o in ASSERTED + INFERRED if s == iri(NS + "IL6")]
    expected = set(Graph().parse(data="".join(lines), format="nt"))
    assert named == expected
    (axiom,) = set(g.subjects(RDF.type, OWL.Axiom))
    assert g.value(axiom, OWL.annotatedSource) == il6
    assert g.value(axiom, OWL.annotatedProperty) == URIRef(NS + "bindsReceptor")
    assert g.value(axiom, OWL.annotatedTarget) == URIRef(NS + "IL6R")
    assert g.value(axiom, DCTERMS.source) == URIRef(NS + "UniProtRecord")
    assert len(g) == len(expected) + 5
    assert (il6, URIRef(LABEL), Literal("interleukin 6", lang="en")) in g


def test_unknown_terms_are_404(client: FlaskClient) -> None:
    page = client.get("/NoSuchTerm", headers=HTML)
    assert page.status_code == 404
    assert page.mimetype == "text/html"
    assert "No term https://w3id.org/cytokg/NoSuchTerm in this release." in page.get_data(
        as_text=True
    )
    text = client.get("/NoSuchTerm.ttl", headers={"Accept": "*/*"})
    assert text.status_code == 404
    assert text.mimetype == "text/plain"
    assert text.get_data(as_text=True) == (
        "No term https://w3id.org/cytokg/NoSuchTerm.ttl in this release.\n"
    )
    assert client.get("/IL6.exe").status_code == 404
    assert client.get("/IL6", headers={"Accept": "image/png"}).status_code == 406


# --------------------------------------------------------------------------- ontology, versions


def test_ontology_iri_serves_the_ontology_file(client: FlaskClient) -> None:
    default = client.get("/cytokg.owl", headers={"Accept": "*/*"})
    assert default.status_code == 200
    assert default.mimetype == "application/rdf+xml"
    assert default.get_data(as_text=True) == ONTOLOGY_OWL
    turtle = client.get("/cytokg.owl", headers={"Accept": "text/turtle"})
    assert turtle.content_type == "text/turtle; charset=utf-8"
    assert turtle.get_data(as_text=True) == ONTOLOGY_TTL
    page = client.get("/cytokg.owl", headers=HTML)
    assert page.mimetype == "text/html"
    assert '<h1 id="term-label">Cytokine Knowledge Graph</h1>' in page.get_data(as_text=True)


def test_version_iri_serves_only_this_release(client: FlaskClient) -> None:
    resp = client.get("/releases/0.1.0/cytokg.owl")
    assert resp.status_code == 200
    assert resp.get_data(as_text=True) == ONTOLOGY_OWL
    other = client.get("/releases/0.0.9/cytokg.owl")
    assert other.status_code == 404
    assert other.get_data(as_text=True) == (
        "Release '0.0.9' is not served here; this server has 0.1.0.\n"
    )


def test_named_graph_iris_redirect_to_their_files(client: FlaskClient) -> None:
    asserted = client.get("/graph/asserted", headers={"Accept": "application/n-triples"})
    assert asserted.status_code == 303
    assert asserted.headers["Location"] == "/downloads/cytokg-asserted.nt"
    inferred = client.get("/graph/inferred")  # no Turtle file in this release: N-Triples
    assert inferred.headers["Location"] == "/downloads/cytokg-inferred.nt"


def test_base_iri_is_configurable(pages_release: Path, tmp_path: Path) -> None:
    app = make_app(pages_release, base_iri="http://example.org/other/", queries_dir=tmp_path)
    try:
        client = app.test_client()
        assert client.get("/IL6", headers=HTML).status_code == 404  # not in that namespace
        hits = client.get("/api/search?q=interleukin 6").get_json()["results"]
        assert hits == []
    finally:
        runtime(app).pool.close()


# --------------------------------------------------------------------------- downloads, docs


@pytest.mark.parametrize("name", ["cytokg.ttl", "cytokg.owl", "manifest.json", "void.ttl"])
def test_downloads_serve_manifest_files(
    client: FlaskClient, pages_release: Path, name: str
) -> None:
    resp = client.get(f"/downloads/{name}")
    assert resp.status_code == 200
    assert resp.get_data() == (pages_release / name).read_bytes()
    assert (
        resp.mimetype
        == {
            "cytokg.ttl": "text/turtle",
            "cytokg.owl": "application/rdf+xml",
            "manifest.json": "application/json",
            "void.ttl": "text/turtle",
        }[name]
    )


@pytest.mark.parametrize(
    "path",
    [
        "/downloads/secret.txt",
        "/downloads/../secret.txt",
        "/downloads/..%2Fsecret.txt",
        "/downloads/%2E%2E%2Fsecret.txt",
        "/downloads/%2Fetc%2Fpasswd",
        "/downloads//etc/passwd",
        "/downloads/..%5Csecret.txt",
        "/downloads/./cytokg.ttl",
        "/downloads/sub/../cytokg.ttl",
        "/docs/../secret.txt",
        "/docs/..%2Fsecret.txt",
        "/docs//etc/passwd",
        "/docs/%2Fetc%2Fpasswd",
    ],
)
def test_no_path_traversal(client: FlaskClient, path: str) -> None:
    resp = client.get(path)
    assert resp.status_code == 404
    body = resp.get_data(as_text=True)
    assert SECRET not in body and "root:" not in body


def test_downloads_page_lists_the_manifest(client: FlaskClient) -> None:
    page = client.get("/downloads/").get_data(as_text=True)
    assert re.findall(r'<li><a href="/downloads/([^"]+)">', page) == [
        "context.jsonld",
        "cytokg-asserted.nt",
        "cytokg-inferred.nt",
        "cytokg.owl",
        "cytokg.ttl",
        "manifest.json",
        "overview.svg",
        "void.ttl",
    ]


def test_docs_missing_is_a_clear_404(client: FlaskClient) -> None:
    resp = client.get("/docs/", headers={"Accept": "*/*"})
    assert resp.status_code == 404
    assert resp.get_data(as_text=True) == (
        "The ontology documentation has not been generated for this release "
        "(no docs/ folder in the release directory).\n"
    )


def test_docs_are_served_when_built(pages_release: Path, tmp_path: Path) -> None:
    release = tmp_path / "release"
    shutil.copytree(pages_release, release)
    (release / "docs" / "css").mkdir(parents=True)
    (release / "docs" / "index.html").write_text("<h1>Docs</h1>", encoding="utf-8")
    (release / "docs" / "css" / "a.css").write_text("h1{}", encoding="utf-8")
    app = make_app(release, queries_dir=tmp_path)
    try:
        client = app.test_client()
        redirect = client.get("/docs")
        assert redirect.status_code == 301
        assert redirect.headers["Location"] == "/docs/"
        index = client.get("/docs/")
        assert index.get_data(as_text=True) == "<h1>Docs</h1>"
        assert index.headers["X-Content-Type-Options"] == "nosniff"
        assert "script-src 'self';" in index.headers["Content-Security-Policy"]
        assert client.get("/docs/css/a.css").get_data(as_text=True) == "h1{}"
        assert client.get("/docs/missing.html").status_code == 404
        assert client.get("/docs/../secret.txt").status_code == 404
        assert client.get("/docs/..%2Fsecret.txt").status_code == 404
    finally:
        runtime(app).pool.close()


# --------------------------------------------------------------------------- query page


def test_query_page_lists_the_competency_questions(client: FlaskClient) -> None:
    page = client.get("/query", headers=HTML).get_data(as_text=True)
    examples = re.findall(
        r'<a class="example" data-name="([^"]+)" href="([^"]+)">([^<]*)</a>', page
    )
    assert [(name, unescape(text)) for name, _, text in examples] == [
        ("01-binders", "Which cytokines bind which receptor?"),
        ("02-ask", "Is there a <b>bold</b> label?"),
    ]
    assert unescape(examples[0][1]).startswith("/query?query=%23+Question")
    # the first example is in the editor; autorun is off without ?query=
    assert ">\n# Question: Which cytokines bind which receptor?\n" not in page
    textarea = re.search(r"<textarea id=\"query\"[^>]*>(.*?)</textarea>", page, re.S).group(1)  # type: ignore[union-attr]
    assert unescape(textarea).startswith("# Question: Which cytokines bind which receptor?\n")
    data = json.loads(
        re.search(
            r'<script type="application/json" id="page-data">(.*?)</script>', page, re.S
        ).group(1)
    )  # type: ignore[union-attr]
    assert data["endpoint"] == "/sparql"
    assert data["base"] == NS
    assert data["autorun"] is False
    assert data["prefixes"]["UniProtKB"] == "http://purl.uniprot.org/uniprot/"
    formats_offered = re.findall(r'data-kind="(\w+)" data-format="(\w+)"', page)
    assert formats_offered == [
        ("tabular", "json"),
        ("tabular", "xml"),
        ("tabular", "csv"),
        ("tabular", "tsv"),
        ("graph", "turtle"),
        ("graph", "jsonld"),
        ("graph", "nt"),
        ("graph", "rdfxml"),
    ]


def test_query_page_keeps_the_query_from_the_url(client: FlaskClient) -> None:
    query = 'SELECT ?x WHERE { ?x ?p "</textarea><script>alert(1)</script>" }'
    page = client.get("/query", query_string={"query": query}, headers=HTML).get_data(as_text=True)
    textarea = re.search(r"<textarea id=\"query\"[^>]*>(.*?)</textarea>", page, re.S).group(1)  # type: ignore[union-attr]
    assert unescape(textarea) == query
    assert "<script>alert(1)" not in page
    assert '"autorun": true' in page


def test_static_assets_are_served(client: FlaskClient) -> None:
    for name, mimetype in (
        ("query.js", "text/javascript"),
        ("search.js", "text/javascript"),
        ("style.css", "text/css"),
    ):
        resp = client.get(f"/static/{name}")
        assert resp.status_code == 200, name
        assert resp.mimetype == mimetype, name
        assert b"http://" not in resp.get_data() and b"https://" not in resp.get_data(), name


# --------------------------------------------------------------------------- "why?" links


@pytest.fixture(scope="module")
def derived_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    """An app over the tiny fixture project built by the real pipeline (with derivations)."""
    from kg.build import Project, build

    root = tmp_path_factory.mktemp("derived")
    shutil.copytree(REPO / "tests" / "fixtures" / "mini" / "ontology", root / "ontology")
    shutil.copytree(REPO / "queries" / "checks", root / "queries" / "checks")
    project = Project(root=root, out=root / "build")
    build(project, progress=lambda _: None)
    app = make_app(project.out)
    yield app
    runtime(app).pool.close()


def why_links(page: str) -> list[str]:
    """The href of every "why?" link of a page."""
    return [unescape(h) for h in re.findall(r'<a class="why" href="([^"]*)"[^>]*>why\?</a>', page)]


def test_why_link_only_on_inferred_statements(derived_app: Flask) -> None:
    client = derived_app.test_client()
    page = client.get("/IL2", headers=HTML).get_data(as_text=True)
    rows = {tuple(r[:2]): r[2] for r in table_rows(page, "outgoing")}
    assert rows[("produced by", "lymphocyte")] == "inferred why?"
    assert rows[("produced by", "T lymphocyte")] == "asserted"
    types = re.search(r'<p class="types" id="types">(.*?)</p>', page, re.S).group(1)  # type: ignore[union-attr]
    assert re.findall(r'class="type asserted"[^>]*>.*?</span>', types, re.S)
    assert all("why?" not in span for span in
               re.findall(r'class="type asserted"[^>]*>.*?</span>', types, re.S))
    assert "why?" in re.search(r'<a href="/Lymphokine".*?</span>', types, re.S).group(0)  # type: ignore[union-attr]
    assert len(why_links(page)) == page.count('<tr class="inferred">') + types.count(
        "type inferred"
    )


def test_why_page_shows_rule_axiom_and_premises_of_a_chain(derived_app: Flask) -> None:
    client = derived_app.test_client()
    page = client.get("/IL2", headers=HTML).get_data(as_text=True)
    [link] = [h for h in why_links(page) if "producedBy" in h and h.endswith("Lymphocyte")]
    resp = client.get(link, headers=HTML)
    assert resp.status_code == 200
    tree = resp.get_data(as_text=True)
    assert '<code class="rule">prp-spo2</code>' in tree
    assert ("cytokg:producedBy owl:propertyChainAxiom (cytokg:producedBy cytokg:subtypeOf)"
            in unescape(tree))
    steps = re.findall(r'<li class="step (\w+)">\s*<span class="statement">(.*?)</span>\s*'
                       r'<div class="how">(.*?)</div>', tree, re.S)
    text = [(status, " ".join(unescape(re.sub(r"<[^>]+>", "", s)).split()),
             " ".join(unescape(re.sub(r"<[^>]+>", "", how)).split()))
            for status, s, how in steps]
    assert text[0][:2] == ("inferred", "interleukin-2 produced by lymphocyte")
    assert ("asserted", "interleukin-2 produced by T lymphocyte",
            "asserted; source: test article") in text
    assert ("asserted", "T lymphocyte subtype of lymphocyte",
            "asserted; source: test article") in text


def test_why_page_of_a_defined_class_and_an_inverse(derived_app: Flask) -> None:
    client = derived_app.test_client()
    defined = client.get(
        "/explain", query_string={"s": "cytokg:IL2", "p": "a", "o": "cytokg:Lymphokine"},
        headers=HTML,
    ).get_data(as_text=True)
    for rule in ("cax-eqc2", "cls-int1", "cls-hv2", "prp-spo2"):
        assert f'<code class="rule">{rule}</code>' in defined, rule
    assert "(cytokg:producedBy value cytokg:Lymphocyte)" in unescape(defined)
    page = client.get("/Macrophage", headers=HTML).get_data(as_text=True)
    # the inferred inverse (Macrophage produces IL6) is shown once: as the asserted statement
    assert [h for h in why_links(page) if "produces" in h] == []
    assert ["interleukin-6", "produced by", "asserted", "test article"] in table_rows(
        page, "incoming")
    inverse = client.get(
        "/explain", query_string={"s": "cytokg:Macrophage", "p": "cytokg:produces",
                                  "o": "cytokg:IL6"}, headers=HTML,
    ).get_data(as_text=True)
    assert '<code class="rule">prp-inv1</code>' in inverse
    assert "cytokg:producedBy owl:inverseOf cytokg:produces" in unescape(inverse)


def test_why_page_refuses_asserted_unknown_and_malformed(derived_app: Flask) -> None:
    client = derived_app.test_client()
    asserted = {"s": "cytokg:IL2", "p": "cytokg:producedBy", "o": "cytokg:TLymphocyte"}
    assert client.get("/explain", query_string=asserted, headers=HTML).status_code == 404
    absent = {"s": "cytokg:IL6", "p": "cytokg:producedBy", "o": "cytokg:Lymphocyte"}
    assert client.get("/explain", query_string=absent).status_code == 404
    assert client.get("/explain", query_string={"s": "cytokg:IL2"}).status_code == 400
    bad = {"s": "nosuch:IL2", "p": "a", "o": "cytokg:Lymphokine"}
    assert client.get("/explain", query_string=bad).status_code == 400
    extra = {**absent, "x": "1"}
    assert client.get("/explain", query_string=extra).status_code == 400


def test_release_without_derivations_has_no_why_links(client: FlaskClient) -> None:
    page = client.get("/IL6", headers=HTML).get_data(as_text=True)
    assert "inferred" in page and why_links(page) == []
    assert client.get("/explain", query_string={"s": "IL6", "p": "a", "o": "Protein"}
                      ).status_code == 404
