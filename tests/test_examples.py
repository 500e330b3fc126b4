"""Issue 15.1: the competency questions as SPARQL examples in the SIB form, checked and served.

The release's `examples.ttl` must pass our SHACL shapes for the SIB form (a broken example must
not), every example's query must give its question's expected answer through the endpoint, and
the endpoint must serve the examples in `<endpoint>/.well-known/sparql-examples` and on /query.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from markupsafe import escape
from pyshacl import validate
from rdflib import Graph, Literal, URIRef
from rdflib.compare import isomorphic
from rdflib.namespace import RDF, RDFS
from support import REPO
from test_competency import QUESTION_FILES, expected, header, same

from kg.errors import BuildError
from kg.examples import ENDPOINT, EXAMPLES, FORMS, PREFIX_SET, read_question, used_prefixes
from kg.query import release_converter, render_term
from kg.results import Term
from server import create_app, runtime

SHAPES = REPO / "ontology" / "shapes" / "sparql-examples.ttl"
SH = "http://www.w3.org/ns/shacl#"
SCHEMA = "https://schema.org/"
EXECUTABLE = URIRef(SH + "SPARQLExecutable")
HOST = "localhost"  # the Flask test client's default host
GRAPH_URL = f"http://{HOST}/sparql/.well-known/sparql-examples"


@pytest.fixture(scope="module")
def examples(real_release: Path) -> Graph:
    """The examples the release ships (Turtle)."""
    return Graph().parse(real_release / "examples.ttl", format="turtle")


@pytest.fixture(scope="module")
def shapes() -> Graph:
    """Our shapes for the SIB sparql-examples form."""
    return Graph().parse(SHAPES, format="turtle")


@pytest.fixture(scope="module")
def app(real_release: Path) -> Iterator[Flask]:
    """The endpoint over the real release, its executors stopped afterwards."""
    app = create_app({"release_dir": real_release, "queries_dir": REPO / "queries",
                      "executors": 1, "time_limit": 20.0, "access_log": False})
    app.config["TESTING"] = True
    yield app
    runtime(app).pool.close()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A test client (host `localhost`)."""
    return app.test_client()


def conforms(data: Graph, shapes: Graph) -> tuple[bool, str]:
    """Validate with pySHACL (SHACL-SPARQL constraints included)."""
    ok, _, text = validate(data, shacl_graph=shapes)
    return bool(ok), text


def one_example(examples: Graph, stem: str) -> Graph:
    """A copy of one example and the prefix declarations it points at."""
    out = Graph()
    for node in (URIRef(EXAMPLES + stem), URIRef(PREFIX_SET)):
        for triple in examples.triples((node, None, None)):
            out.add(triple)
    for declaration in examples.objects(URIRef(PREFIX_SET), URIRef(SH + "declare")):
        for triple in examples.triples((declaration, None, None)):
            out.add(triple)
    return out


# --------------------------------------------------------------------------- the release file


def test_every_question_is_an_example_of_its_form(examples: Graph, real_release: Path) -> None:
    got = {str(s) for s in examples.subjects(RDF.type, EXECUTABLE)}
    assert got == {EXAMPLES + p.stem for p in QUESTION_FILES}
    for path in QUESTION_FILES:
        example = URIRef(EXAMPLES + path.stem)
        question = read_question(path)
        kind, text_property = FORMS[question.form]
        assert (example, RDF.type, URIRef(kind)) in examples
        assert examples.value(example, RDFS.comment) == Literal(header(path)["question"],
                                                                lang="en")
        text = str(examples.value(example, URIRef(text_property)))
        assert text in path.read_text(encoding="utf-8") and "# Question:" not in text
        keywords = {str(k) for k in examples.objects(example, URIRef(SCHEMA + "keywords"))}
        assert header(path)["topic"] in keywords
        assert examples.value(example, URIRef(SCHEMA + "target")) == URIRef(ENDPOINT)
        assert examples.value(example, URIRef(SH + "prefixes")) == URIRef(PREFIX_SET)
    # The N-Triples copy the store loads holds the same graph.
    assert isomorphic(examples, Graph().parse(real_release / "examples.nt", format="nt"))


def test_prefix_declarations_cover_the_queries(examples: Graph) -> None:
    declared = {str(examples.value(d, URIRef(SH + "prefix"))):
                str(examples.value(d, URIRef(SH + "namespace")))
                for d in examples.objects(URIRef(PREFIX_SET), URIRef(SH + "declare"))}
    for path in QUESTION_FILES:
        question = read_question(path)
        assert used_prefixes(question.query) <= declared.keys(), path.name
        for prefix, namespace in question.prefixes.items():
            assert declared[prefix] == namespace


def test_examples_pass_the_shapes(examples: Graph, shapes: Graph) -> None:
    ok, report = conforms(examples, shapes)
    assert ok, report


@pytest.mark.parametrize("breakage", ["missing comment", "comment not English", "wrong type",
                                      "no target", "undeclared prefix", "other namespace",
                                      "no prefix declarations", "two query texts"])
def test_a_broken_example_fails_the_shapes(examples: Graph, shapes: Graph, breakage: str) -> None:
    stem = "06-il6-producing-cell-types"
    data = one_example(examples, stem)
    ok, report = conforms(data, shapes)
    assert ok, report  # the example alone is valid: the breakage below is what fails
    example = URIRef(EXAMPLES + stem)
    select = URIRef(SH + "select")
    text = str(data.value(example, select))
    if breakage == "missing comment":
        data.remove((example, RDFS.comment, None))
    elif breakage == "comment not English":
        data.set((example, RDFS.comment, Literal("Quelles cellules ?", lang="fr")))
    elif breakage == "wrong type":
        data.remove((example, RDF.type, URIRef(SH + "SPARQLSelectExecutable")))
        data.add((example, RDF.type, URIRef(SH + "SPARQLAskExecutable")))
    elif breakage == "no target":
        data.remove((example, URIRef(SCHEMA + "target"), None))
    elif breakage == "undeclared prefix":
        data.set((example, select, Literal(text.replace(
            "SELECT", "PREFIX obo: <http://purl.obolibrary.org/obo/>\nSELECT ?x", 1).replace(
            "WHERE {", "WHERE { ?x a obo:CL_0000000 .", 1))))
    elif breakage == "other namespace":
        data.set((example, select, Literal(text.replace(
            "PREFIX cytokg: <https://w3id.org/cytokg/>", "PREFIX cytokg: <http://example.org/>"))))
    elif breakage == "no prefix declarations":
        data.remove((URIRef(PREFIX_SET), URIRef(SH + "declare"), None))
    elif breakage == "two query texts":
        data.add((example, URIRef(SH + "ask"), Literal("ASK { ?s ?p ?o }")))
    assert data.value(example, select) is not None
    ok, report = conforms(data, shapes)
    assert not ok, f"{breakage} passed the shapes"


def test_a_question_using_an_undeclared_prefix_stops_the_build(tmp_path: Path) -> None:
    from kg.examples import declared_prefixes

    path = tmp_path / "01-bad.rq"
    path.write_text("# Question: Which?\n# Topic: test\nSELECT ?x WHERE { ?x a cytokg:Cytokine }\n",
                    encoding="utf-8")
    with pytest.raises(BuildError) as caught:
        declared_prefixes([read_question(path)])
    assert "01-bad: prefix 'cytokg:' is used but not declared" in caught.value.details


# --------------------------------------------------------------------------- through the endpoint


def http_rows(client: FlaskClient, query: str, conv) -> tuple[list[str], list[tuple[str, ...]]]:
    """Run a query through the endpoint (SPARQL JSON) and render rows as the answer files do."""
    resp = client.post("/sparql", data={"query": query},
                       headers={"Accept": "application/sparql-results+json"})
    assert resp.status_code == 200, resp.get_data(as_text=True)
    data = resp.get_json()
    if "boolean" in data:
        return ["ask"], [("true" if data["boolean"] else "false",)]
    variables = data["head"]["vars"]
    rows = []
    for binding in data["results"]["bindings"]:
        row = []
        for var in variables:
            cell = binding.get(var)
            term = None if cell is None else Term(
                "uri" if cell["type"] == "uri" else
                "bnode" if cell["type"] == "bnode" else "literal", cell["value"])
            row.append(render_term(term, conv))
        rows.append(tuple(row))
    return variables, rows


@pytest.mark.parametrize("path", QUESTION_FILES, ids=lambda p: p.stem)
def test_example_runs_through_the_endpoint_with_its_expected_answer(
        client: FlaskClient, examples: Graph, real_release: Path, path: Path) -> None:
    example = URIRef(EXAMPLES + path.stem)
    query = str(examples.value(example, URIRef(FORMS[read_question(path).form][1])))
    got_header, got_rows = http_rows(client, query, release_converter(real_release))
    want_header, want_rows = expected(path)
    assert got_header == want_header
    assert same(path, got_rows, want_rows), f"got {got_rows}"


def test_examples_graph_is_named_after_the_endpoint_url(client: FlaskClient) -> None:
    query = ("PREFIX sh: <http://www.w3.org/ns/shacl#>\nPREFIX schema: <https://schema.org/>\n"
             "SELECT ?ex ?target WHERE { GRAPH <" + GRAPH_URL + "> "
             "{ ?ex a sh:SPARQLExecutable ; schema:target ?target } }")
    for method in ("get", "post"):
        if method == "get":
            resp = client.get("/sparql", query_string={"query": query})
        else:
            resp = client.post("/sparql", data=query,
                               content_type="application/sparql-query")
        assert resp.status_code == 200, resp.get_data(as_text=True)
        bindings = resp.get_json()["results"]["bindings"]
        assert sorted(b["ex"]["value"] for b in bindings) == sorted(
            EXAMPLES + p.stem for p in QUESTION_FILES)
        assert {b["target"]["value"] for b in bindings} == {ENDPOINT}
    # The same graph as a protocol dataset parameter, and not under another host's URL.
    resp = client.get("/sparql", query_string={
        "query": "SELECT (COUNT(*) AS ?n) WHERE { ?ex a <http://www.w3.org/ns/shacl#"
                 "SPARQLExecutable> }", "default-graph-uri": GRAPH_URL})
    assert resp.status_code == 200, resp.get_data(as_text=True)
    assert int(resp.get_json()["results"]["bindings"][0]["n"]["value"]) == len(QUESTION_FILES)
    other = query.replace(GRAPH_URL, "http://elsewhere.example/sparql/.well-known/sparql-examples")
    resp = client.get("/sparql", query_string={"query": other})
    assert resp.status_code == 200 and resp.get_json()["results"]["bindings"] == []


def test_examples_file_is_served_at_the_well_known_url(client: FlaskClient,
                                                       examples: Graph) -> None:
    resp = client.get("/.well-known/sparql-examples")
    assert resp.status_code == 200 and resp.mimetype == "text/turtle"
    assert isomorphic(Graph().parse(data=resp.get_data(as_text=True), format="turtle"), examples)
    resp = client.get("/.well-known/sparql-examples", headers={"Accept": "application/ld+json"})
    assert resp.status_code == 200 and resp.mimetype == "application/ld+json"
    assert isomorphic(Graph().parse(data=resp.get_data(as_text=True), format="json-ld"), examples)
    resp = client.get("/.well-known/sparql-examples", headers={"Accept": "image/png"})
    assert resp.status_code == 406
    # The graph's name dereferences (303) to the same file.
    resp = client.get("/sparql/.well-known/sparql-examples")
    assert resp.status_code == 303 and resp.location.endswith("/downloads/examples.ttl")


def test_query_page_lists_every_example_with_its_keywords(client: FlaskClient,
                                                           examples: Graph) -> None:
    page = client.get("/query").get_data(as_text=True)
    for path in QUESTION_FILES:
        assert f'data-name="{path.stem}"' in page
        example = URIRef(EXAMPLES + path.stem)
        for keyword in examples.objects(example, URIRef(SCHEMA + "keywords")):
            assert str(escape(str(keyword))) in page
    assert f"{GRAPH_URL}</code>" in page
