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
from srv_helpers import make_app

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
]
INFERRED = [
    (iri(NS + "IL6"), iri(T), iri(NS + "Protein")),
    (iri(NS + "IL6R"), iri(NS + "isBoundBy"), iri(NS + "IL6")),
]
ONTOLOGY_TTL = "# the whole ontology, Turtle\n"
ONTOLOGY_OWL = "<?xml version='1.0'?><!-- the whole ontology, RDF/XML --><rdf:RDF/>\n"
SECRET = "NOT-IN-MANIFEST-4b1d"
CONTEXT = {"skos": SKOS, "UniProtKB": "http://purl.uniprot.org/uniprot/", "cytokg": NS}


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
    assert re.findall(r'<span class="identifier"[^>]*>([^<]*)</span>', page) == [
        "HGNC:6018",
        "P05231",
    ]
    types = re.search(r'<p class="types" id="types">(.*?)</p>', page, re.S).group(1)  # type: ignore[union-attr]
    assert re.findall(r'class="type (\w+)"[^>]*><a href="([^"]+)"', types) == [
        ("asserted", "/Cytokine"),
        ("inferred", "/Protein"),
    ]
    assert table_rows(page, "outgoing") == [
        ["binds receptor", "interleukin 6 receptor", "asserted", "UniProt record"]
    ]
    assert table_rows(page, "incoming") == [
        ["interleukin 6 receptor", "is bound by", "inferred", ""]
    ]
    assert table_rows(page, "mappings") == [["skos:exactMatch", f"UniProtKB:P05231 {UNIPROT}", ""]]
    found = links(page)
    assert found["interleukin 6 receptor"] == "/IL6R"
    assert found["binds receptor"] == "/bindsReceptor"
    assert found["UniProt record"] == "/UniProtRecord"
    assert found["UniProtKB:P05231"] == UNIPROT
    assert found["turtle"] == "/IL6.ttl"
    assert re.findall(r'<ul id="sources"><li><a href="([^"]+)"', page) == ["/UniProtRecord"]


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
