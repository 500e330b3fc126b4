"""Result formats and content negotiation (Protocol 2.1.6 / 2.2.6; RFC 9110 12.5.1)."""

from __future__ import annotations

import csv
import io
import json
import xml.etree.ElementTree as ET

import pytest
from flask.testing import FlaskClient
from rdflib import Graph, URIRef
from srv_release import BINDS, IL1B, IL1R1, IL6, IL6R, MASS, NOTE, TNF, TNFR1, TRICKY

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
    accept = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
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
    r = get(client, PAIRS, None, format="turtle")
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
    assert formats.lookup("application/sparql-results+json; charset=utf-8").token == "json"
    assert formats.lookup("TSV").token == "tsv"


def test_json_results_parse_as_json_with_unicode(client: FlaskClient) -> None:
    q = 'SELECT ?x WHERE { BIND("Interleukin-6 \u03b1 \u2192 \U0001f9ec" AS ?x) }'
    r = get(client, q)
    assert json.loads(r.data)["results"]["bindings"][0]["x"]["value"].endswith("\U0001f9ec")
