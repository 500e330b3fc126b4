"""Result formats and content negotiation (Protocol 2.1.6 / 2.2.6; RFC 9110 12.5.1)."""

from __future__ import annotations

import csv
import io
import json
import xml.etree.ElementTree as ET

import pytest
from flask.testing import FlaskClient
from rdflib import Graph, URIRef
from srv_release import BINDS, IL1B, IL1R1, IL6, IL6R, MASS, NOTE, NS, TNF, TNFR1, TRICKY

from server import formats

PAIRS = f"SELECT ?c ?r WHERE {{ ?c <{BINDS}> ?r }} ORDER BY ?c"
EXPECTED_PAIRS = [(IL1B, IL1R1), (IL6, IL6R), (TNF, TNFR1)]
DETAILS = (
    f"SELECT ?c ?mass ?note WHERE {{ ?c <{MASS}> ?mass OPTIONAL {{ ?c <{NOTE}> ?note }} }} "
    "ORDER BY ?c"
)
GRAPH_Q = f"CONSTRUCT {{ ?c <{BINDS}> ?r }} WHERE {{ ?c <{BINDS}> ?r }}"
SRX = "{http://www.w3.org/2005/sparql-results#}"


def get(client: FlaskClient, query: str, accept: str | None = None, **params: str):
    headers = {"Accept": accept} if accept is not None else {}
    return client.get("/sparql", query_string={"query": query, **params}, headers=headers)


def test_select_json(client: FlaskClient) -> None:
    r = get(client, PAIRS, "application/sparql-results+json")
    assert r.mimetype == "application/sparql-results+json"
    rows = [(b["c"]["value"], b["r"]["value"]) for b in r.json["results"]["bindings"]]
    assert rows == EXPECTED_PAIRS


def test_select_json_literal_terms(client: FlaskClient) -> None:
    r = get(client, DETAILS, "application/sparql-results+json")
    b = r.json["results"]["bindings"]
    assert b[0] == {
        "c": {"type": "uri", "value": IL1B},
        "mass": {
            "type": "literal",
            "value": "17",
            "datatype": "http://www.w3.org/2001/XMLSchema#integer",
        },
    }
    assert b[1]["note"] == {"type": "literal", "value": TRICKY}


def test_select_xml(client: FlaskClient) -> None:
    r = get(client, PAIRS, "application/sparql-results+xml")
    assert r.mimetype == "application/sparql-results+xml"
    root = ET.fromstring(r.data)
    names = [v.get("name") for v in root.iter(SRX + "variable")]
    assert names == ["c", "r"]
    rows = [
        tuple(res.find(f"{SRX}binding[@name='{v}']/{SRX}uri").text for v in ("c", "r"))
        for res in root.iter(SRX + "result")
    ]
    assert rows == EXPECTED_PAIRS


def test_select_csv_exact(client: FlaskClient) -> None:
    r = get(client, DETAILS, "text/csv")
    assert r.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert list(csv.reader(io.StringIO(r.text, newline=""))) == [
        ["c", "mass", "note"],
        [IL1B, "17", ""],
        [IL6, "21", TRICKY],
        [TNF, "17", ""],
    ]
    assert r.text.startswith("c,mass,note\r\n")


def test_select_tsv_exact(client: FlaskClient) -> None:
    r = get(client, DETAILS, "text/tab-separated-values")
    assert r.mimetype == "text/tab-separated-values"
    lines = r.text.split("\n")
    assert lines[0] == "?c\t?mass\t?note"
    # SPARQL 1.1 TSV section 3 allows the Turtle short form for integers.
    assert lines[1] in (
        f"<{IL1B}>\t17\t",
        f'<{IL1B}>\t"17"^^<http://www.w3.org/2001/XMLSchema#integer>\t',
    )
    assert lines[2].endswith('\t"pleiotropic, \\"pro-inflammatory\\"\\nand anti-inflammatory"')


def test_ask_in_xml_and_csv(client: FlaskClient) -> None:
    r = get(client, "ASK {}", "application/sparql-results+xml")
    assert ET.fromstring(r.data).find(SRX + "boolean").text == "true"
    assert get(client, "ASK {}", "text/csv").text == "_askResult\r\ntrue\r\n"


@pytest.mark.parametrize(
    ("accept", "mimetype", "rdflib_format"),
    [
        ("text/turtle", "text/turtle", "turtle"),
        ("application/ld+json", "application/ld+json", "json-ld"),
        ("application/n-triples", "application/n-triples", "nt"),
        ("application/rdf+xml", "application/rdf+xml", "xml"),
    ],
)
def test_construct_formats(
    client: FlaskClient, accept: str, mimetype: str, rdflib_format: str
) -> None:
    r = get(client, GRAPH_Q, accept)
    assert r.status_code == 200
    assert r.mimetype == mimetype
    g = Graph().parse(data=r.data, format=rdflib_format)
    assert set(g) == {(URIRef(c), URIRef(BINDS), URIRef(x)) for c, x in EXPECTED_PAIRS}


@pytest.mark.parametrize(
    ("token", "mimetype"),
    [
        ("json", "application/sparql-results+json"),
        ("xml", "application/sparql-results+xml"),
        ("csv", "text/csv"),
        ("tsv", "text/tab-separated-values"),
        ("text/csv", "text/csv"),
    ],
)
def test_format_parameter_for_select(client: FlaskClient, token: str, mimetype: str) -> None:
    r = get(client, PAIRS, "application/sparql-results+xml", format=token)
    assert r.status_code == 200
    assert r.mimetype == mimetype


@pytest.mark.parametrize("token", ["turtle", "jsonld", "nt", "rdfxml", "application/ld+json"])
def test_format_parameter_for_construct(client: FlaskClient, token: str) -> None:
    r = get(client, GRAPH_Q, None, format=token)
    assert r.status_code == 200
    assert r.mimetype == formats.lookup(token).media_type


def test_defaults_without_accept(client: FlaskClient) -> None:
    assert get(client, PAIRS).mimetype == "application/sparql-results+json"
    assert get(client, GRAPH_Q).mimetype == "text/turtle"
    assert get(client, PAIRS, "*/*").mimetype == "application/sparql-results+json"
    assert get(client, GRAPH_Q, "*/*").mimetype == "text/turtle"


def test_accept_q_values_pick_the_highest(client: FlaskClient) -> None:
    accept = "application/sparql-results+json;q=0.5, text/csv;q=0.9, */*;q=0.1"
    assert get(client, PAIRS, accept).mimetype == "text/csv"
    accept = "text/turtle;q=0.2, application/n-triples;q=0.8"
    assert get(client, GRAPH_Q, accept).mimetype == "application/n-triples"
    accept = "text/*;q=0.3, text/tab-separated-values;q=0.6"
    assert get(client, PAIRS, accept).mimetype == "text/tab-separated-values"


def test_browser_accept_gets_a_result(client: FlaskClient) -> None:
    # application/xml (q=0.9) beats */* (q=0.8): SPARQL XML for a table, RDF/XML for a graph.
    accept = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
    assert get(client, PAIRS, accept).mimetype == "application/sparql-results+xml"
    assert get(client, GRAPH_Q, accept).mimetype == "application/rdf+xml"
    accept = "text/html,application/xhtml+xml,*/*;q=0.8"
    assert get(client, PAIRS, accept).mimetype == "application/sparql-results+json"


def test_406_when_nothing_acceptable(client: FlaskClient) -> None:
    r = get(client, PAIRS, "image/png")
    assert r.status_code == 406
    assert "text/csv" in r.text
    # Acceptable for graphs only, but the query is a SELECT.
    r = get(client, PAIRS, "text/turtle")
    assert r.status_code == 406
    r = get(client, GRAPH_Q, "text/csv")
    assert r.status_code == 406
    # A format that does not fit the query form leaves the choice to Accept.
    r = get(client, PAIRS, "text/turtle", format="turtle")
    assert r.status_code == 406
    r = get(client, PAIRS, "application/sparql-results+json;q=0")
    assert r.status_code == 406


def test_unknown_format_parameter_is_400(client: FlaskClient) -> None:
    r = get(client, PAIRS, None, format="yaml")
    assert r.status_code == 400
    assert "Unknown format" in r.text


def test_negotiate_units() -> None:
    offers = ["a/x", "a/y", "b/z"]
    assert formats.negotiate(None, offers) == "a/x"
    assert formats.negotiate("a/y", offers) == "a/y"
    assert formats.negotiate("a/*;q=0.5, b/z", offers) == "b/z"
    assert formats.negotiate("a/*, a/x;q=0", offers) == "a/y"
    assert formats.negotiate("c/*", offers) is None
    assert formats.negotiate("garbage, a/y;q=bad, b/z;q=0.1", offers) == "b/z"
    assert formats.negotiate("*/*;q=0.2, a/y;q=0.2", offers) == "a/x"


def test_media_type_table_is_the_one_source() -> None:
    assert {f.token for f in formats.FORMATS} == {
        "json",
        "xml",
        "csv",
        "tsv",
        "turtle",
        "jsonld",
        "nt",
        "rdfxml",
    }
    assert {f.token for f in formats.EQUIVALENT_FORMATS} == {"n3", "nquads", "trig"}
    assert set(formats.BY_TOKEN.values()) == set(formats.ALL_FORMATS)
    assert formats.lookup("application/sparql-results+json; charset=utf-8").token == "json"
    assert formats.lookup("TSV").token == "tsv"


def test_json_results_parse_as_json_with_unicode(client: FlaskClient) -> None:
    q = 'SELECT ?x WHERE { BIND("Interleukin-6 \u03b1 \u2192 \U0001f9ec" AS ?x) }'
    r = get(client, q)
    assert json.loads(r.data)["results"]["bindings"][0]["x"]["value"].endswith("\U0001f9ec")


# ----------------------------------------------------------------- what common clients send


@pytest.mark.parametrize("accept", ["application/xml", "text/xml"])
def test_plain_xml_accept_gets_sparql_xml(client: FlaskClient, accept: str) -> None:
    r = get(client, PAIRS, accept)
    assert r.status_code == 200
    assert r.mimetype == "application/sparql-results+xml"
    assert len(ET.fromstring(r.data).findall(f".//{SRX}result")) == len(EXPECTED_PAIRS)
    r = get(client, "ASK {}", accept)
    assert ET.fromstring(r.data).find(f"{SRX}boolean").text == "true"


@pytest.mark.parametrize(
    ("accept", "mimetype", "rdflib_format"),
    [
        ("application/json", "application/ld+json", "json-ld"),
        ("text/plain", "application/n-triples", "nt"),
        ("application/n-quads", "application/n-quads", "nquads"),
        ("application/trig", "application/trig", "trig"),
        ("text/n3", "text/n3", "n3"),
        ("application/xml", "application/rdf+xml", "xml"),
    ],
)
def test_graph_media_types_clients_send(
    client: FlaskClient, accept: str, mimetype: str, rdflib_format: str
) -> None:
    from rdflib import Dataset

    r = get(client, GRAPH_Q, accept)
    assert r.status_code == 200, r.text
    assert r.mimetype == mimetype
    ds = Dataset().parse(data=r.data, format=rdflib_format)
    # A CONSTRUCT answer is one default graph, whatever the syntax.
    triples = {t for g in ds.graphs() for t in g}
    assert triples == {(URIRef(c), URIRef(BINDS), URIRef(x)) for c, x in EXPECTED_PAIRS}


@pytest.mark.parametrize(
    ("token", "mimetype"),
    [("n3", "text/n3"), ("trig", "application/trig"), ("nquads", "application/n-quads"),
     ("json-ld", "application/ld+json"), ("rdf+xml", "application/rdf+xml"),
     ("rdf", "application/rdf+xml"), ("xml", "application/rdf+xml"),
     ("json", "application/ld+json")],
)
def test_format_names_clients_use_for_graphs(
    client: FlaskClient, token: str, mimetype: str
) -> None:
    assert get(client, GRAPH_Q, None, format=token).mimetype == mimetype


def test_format_that_does_not_fit_the_form_leaves_accept_to_decide(client: FlaskClient) -> None:
    # SPARQLWrapper: CONSTRUCT with format=xml (a results format) and Accept RDF/XML.
    r = get(client, GRAPH_Q, "application/rdf+xml", format="csv")
    assert (r.status_code, r.mimetype) == (200, "application/rdf+xml")
    r = get(client, PAIRS, None, format="turtle")
    assert (r.status_code, r.mimetype) == (200, "application/sparql-results+json")
    r = get(client, PAIRS, "text/csv", format="nt")
    assert r.mimetype == "text/csv"
    # A fitting format still wins over Accept.
    r = get(client, PAIRS, "text/csv", format="tsv")
    assert r.mimetype == "text/tab-separated-values"


def test_repeated_format_naming_one_format_is_fine(client: FlaskClient) -> None:
    qs = [("query", PAIRS), ("format", "tsv"), ("format", "text/tab-separated-values")]
    r = client.get("/sparql", query_string=qs)
    assert (r.status_code, r.mimetype) == (200, "text/tab-separated-values")
    # SPARQLWrapper sends an Accept-style list, or an empty value when it has none.
    qs = [("query", GRAPH_Q), ("format", "json-ld"),
          ("format", "application/ld+json,application/x-json+ld"), ("format", "")]
    r = client.get("/sparql", query_string=qs)
    assert (r.status_code, r.mimetype) == (200, "application/ld+json")


def test_format_values_naming_different_formats_are_400(client: FlaskClient) -> None:
    r = client.get("/sparql", query_string=[("query", PAIRS), ("format", "csv"),
                                            ("format", "json")])
    assert r.status_code == 400
    assert "different formats" in r.text and "csv" in r.text
    r = client.get("/sparql", query_string={"query": PAIRS, "format": "csv", "output": "xml"})
    assert r.status_code == 400


def test_output_and_results_are_format_hints(client: FlaskClient) -> None:
    # rdflib's SERVICE sends output=json; SPARQLWrapper output= and results= like format=.
    r = get(client, PAIRS, "text/csv", output="json")
    assert r.mimetype == "application/sparql-results+json"
    r = get(client, PAIRS, None, results="csv")
    assert r.mimetype == "text/csv"
    # Another server's value is not ours to refuse: Accept decides.
    r = get(client, PAIRS, "text/tab-separated-values", output="yaml-ish")
    assert (r.status_code, r.mimetype) == (200, "text/tab-separated-values")


# ----------------------------------------------------------------- Turtle without escapes

ODD_IRIS = (
    f"{NS}releases/0.1.0/cytokg.owl",
    f"{NS}x(y)",
    f"{NS}1st",
    f"{NS}a#b",
    f"{NS}ends.",
)
ODD_Q = (
    "CONSTRUCT { "
    + " ".join(f"<{iri}> <{NS}p> ?c ." for iri in ODD_IRIS)
    + f" ?c <{NS}plain> <{NS}ok> }} WHERE {{ ?c <{BINDS}> <{IL6R}> }}"
)


@pytest.mark.parametrize("engine", ["oxigraph", "rdflib"])
@pytest.mark.parametrize("accept", ["text/turtle", "application/trig", "text/n3"])
def test_turtle_never_escapes_a_prefixed_name(release_dir, engine: str, accept: str) -> None:
    from srv_helpers import make_app

    from server import runtime

    app = make_app(release_dir, engine=engine)
    try:
        r = app.test_client().get("/sparql", query_string={"query": ODD_Q},
                                  headers={"Accept": accept})
    finally:
        runtime(app).pool.close()
    assert r.status_code == 200, r.text
    text = r.data.decode()
    assert "\\" not in text  # no escaped local names (and no literal needs one here)
    for iri in ODD_IRIS:
        assert f"<{iri}>" in text
    assert "cytokg:plain cytokg:ok" in text  # plain local names stay prefixed
    g = Graph().parse(data=r.data, format="turtle")
    assert len(g) == len(ODD_IRIS) + 1
    assert (URIRef(ODD_IRIS[0]), URIRef(NS + "p"), URIRef(IL6)) in g


def test_turtle_keeps_literals_exact(client: FlaskClient) -> None:
    q = f"CONSTRUCT {{ ?c <{NOTE}> ?n ; <{MASS}> ?m }} WHERE {{ ?c <{NOTE}> ?n ; <{MASS}> ?m }}"
    r = get(client, q, "text/turtle")
    g = Graph().parse(data=r.data, format="turtle")
    assert str(g.value(URIRef(IL6), URIRef(NOTE))) == TRICKY
    assert g.value(URIRef(IL6), URIRef(MASS)).toPython() == 21
    assert "xsd:integer" in r.text
