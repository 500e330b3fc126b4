"""SPARQL 1.1 Protocol query operation (section 2.1) through the Flask test client."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlencode

import pytest
from flask.testing import FlaskClient
from srv_helpers import make_app
from srv_release import (
    ASSERTED,
    CYTOKINE,
    IL1B,
    IL6,
    IL6R,
    INFERRED,
    N_ASSERTED,
    N_INFERRED,
    NS,
    PROTEIN,
    RECEPTOR,
    TNF,
)

from server import runtime

CYTOKINES = f"SELECT ?c WHERE {{ ?c a <{CYTOKINE}> }} ORDER BY ?c"
PROTEINS = f"SELECT ?x WHERE {{ ?x a <{PROTEIN}> }} ORDER BY ?x"
COUNT_ALL = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"
FORM = "application/x-www-form-urlencoded"


def uris(resp_json: dict, var: str) -> list[str]:
    """Values of one variable in a SPARQL JSON result, in order."""
    return [b[var]["value"] for b in resp_json["results"]["bindings"]]


def count(client: FlaskClient, query: str = COUNT_ALL, **params: str) -> int:
    """Run a COUNT query and return the number."""
    r = client.get("/sparql", query_string={"query": query, **params})
    assert r.status_code == 200, r.text
    return int(r.json["results"]["bindings"][0]["n"]["value"])


def test_2_1_1_query_via_get_returns_exact_bindings(client: FlaskClient) -> None:
    r = client.get("/sparql", query_string={"query": CYTOKINES})
    assert r.status_code == 200
    assert r.mimetype == "application/sparql-results+json"
    assert r.json["head"]["vars"] == ["c"]
    assert uris(r.json, "c") == [IL1B, IL6, TNF]


def test_2_1_2_query_via_post_urlencoded(client: FlaskClient) -> None:
    r = client.post("/sparql", data={"query": CYTOKINES}, content_type=FORM)
    assert r.status_code == 200
    assert uris(r.json, "c") == [IL1B, IL6, TNF]


def test_2_1_3_query_via_post_directly(client: FlaskClient) -> None:
    r = client.post("/sparql", data=CYTOKINES.encode(), content_type="application/sparql-query")
    assert r.status_code == 200
    assert uris(r.json, "c") == [IL1B, IL6, TNF]


def test_2_1_3_direct_post_accepts_utf8_charset_and_dataset_params(client: FlaskClient) -> None:
    r = client.post(
        f"/sparql?default-graph-uri={ASSERTED}",
        data=PROTEINS.encode(),
        content_type="application/sparql-query; charset=UTF-8",
    )
    assert r.status_code == 200
    assert uris(r.json, "x") == []  # Protein types are only inferred


def test_default_graph_is_union_of_asserted_and_inferred(client: FlaskClient) -> None:
    assert count(client) == N_ASSERTED + N_INFERRED
    r = client.get("/sparql", query_string={"query": PROTEINS})
    assert len(uris(r.json, "x")) == 6


def test_both_graphs_are_named_graphs(client: FlaskClient) -> None:
    q = "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g ORDER BY ?g"
    r = client.get("/sparql", query_string={"query": q})
    rows = [(b["g"]["value"], int(b["n"]["value"])) for b in r.json["results"]["bindings"]]
    assert rows == [(ASSERTED, N_ASSERTED), (INFERRED, N_INFERRED)]


def test_2_1_4_default_graph_uri_selects_one_of_our_graphs(client: FlaskClient) -> None:
    assert count(client, **{"default-graph-uri": ASSERTED}) == N_ASSERTED
    assert count(client, **{"default-graph-uri": INFERRED}) == N_INFERRED


def test_2_1_4_named_graph_uri_restricts_named_graphs(client: FlaskClient) -> None:
    q = "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }"
    r = client.get("/sparql", query_string={"query": q, "named-graph-uri": INFERRED})
    assert uris(r.json, "g") == [INFERRED]
    # With only named-graph-uri, the default graph is empty (SPARQL 1.1 Query 13.2).
    assert count(client, **{"named-graph-uri": INFERRED}) == 0


def test_from_clause_selects_our_own_graph(client: FlaskClient) -> None:
    q = f"SELECT (COUNT(*) AS ?n) FROM <{INFERRED}> WHERE {{ ?s ?p ?o }}"
    assert count(client, q) == N_INFERRED
    q = f"PREFIX g: <{NS}graph/> SELECT (COUNT(*) AS ?n) FROM g:asserted WHERE {{ ?s ?p ?o }}"
    assert count(client, q) == N_ASSERTED


def test_2_1_4_protocol_dataset_overrides_from(client: FlaskClient) -> None:
    q = f"SELECT (COUNT(*) AS ?n) FROM <{INFERRED}> WHERE {{ ?s ?p ?o }}"
    assert count(client, q, **{"default-graph-uri": ASSERTED}) == N_ASSERTED


def test_construct_returns_turtle_by_default(client: FlaskClient) -> None:
    q = f"CONSTRUCT {{ ?c <{NS}binds> ?r }} WHERE {{ ?c <{NS}bindsReceptor> ?r }}"
    r = client.get("/sparql", query_string={"query": q})
    assert r.status_code == 200
    assert r.mimetype == "text/turtle"
    from rdflib import Graph, URIRef

    g = Graph().parse(data=r.text, format="turtle")
    assert len(g) == 3
    assert (URIRef(IL6), URIRef(NS + "binds"), URIRef(IL6R)) in g


def test_describe_returns_the_resource(client: FlaskClient) -> None:
    r = client.get("/sparql", query_string={"query": f"DESCRIBE <{IL6R}>", "format": "nt"})
    assert r.status_code == 200
    assert f"<{IL6R}> <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> <{RECEPTOR}> ." in r.text


def test_ask_true_and_false(client: FlaskClient) -> None:
    r = client.get("/sparql", query_string={"query": f"ASK {{ <{IL6}> a <{CYTOKINE}> }}"})
    assert r.json == {"head": {}, "boolean": True}
    r = client.get("/sparql", query_string={"query": f"ASK {{ <{IL6R}> a <{CYTOKINE}> }}"})
    assert r.json == {"head": {}, "boolean": False}


# ----------------------------------------------------------------- client errors (2.1.4, 4xx)


def test_other_methods_are_405(client: FlaskClient) -> None:
    for method in ("put", "delete", "patch"):
        r = getattr(client, method)("/sparql", data="x")
        assert r.status_code == 405
        assert "GET" in r.headers["Allow"]
        assert r.mimetype == "text/plain"


def test_two_query_params_are_400(client: FlaskClient) -> None:
    r = client.get("/sparql?query=ASK{}&query=ASK{}")
    assert r.status_code == 400
    assert "Exactly one 'query'" in r.text
    r = client.post("/sparql?query=ASK{}", data={"query": "ASK{}"}, content_type=FORM)
    assert r.status_code == 400


def test_query_in_url_and_direct_body_is_400(client: FlaskClient) -> None:
    r = client.post("/sparql?query=ASK{}", data=b"ASK{}", content_type="application/sparql-query")
    assert r.status_code == 400
    assert "body" in r.text


@pytest.mark.parametrize("ctype", [None, "text/plain", "application/json", "multipart/form-data"])
def test_post_with_wrong_or_missing_media_type_is_415(
    client: FlaskClient, ctype: str | None
) -> None:
    headers = {"Content-Type": ctype} if ctype else {}
    r = client.post("/sparql", data=b"ASK {}", headers=headers)
    assert r.status_code == 415
    assert "application/sparql-query" in r.text


def test_post_with_non_utf8_charset_is_415(client: FlaskClient) -> None:
    r = client.post(
        "/sparql", data=b"ASK{}", content_type="application/sparql-query; charset=latin-1"
    )
    assert r.status_code == 415


def test_direct_body_not_utf8_is_400(client: FlaskClient) -> None:
    r = client.post(
        "/sparql", data=b'ASK { ?s ?p "\xff\xfe" }', content_type="application/sparql-query"
    )
    assert r.status_code == 400
    assert "UTF-8" in r.text


def test_urlencoded_body_not_utf8_is_400(client: FlaskClient) -> None:
    r = client.post("/sparql", data=b"query=ASK%7B%7D%FF", content_type=FORM)
    assert r.status_code == 400
    assert "UTF-8" in r.text
    r = client.get("/sparql?query=ASK%7B%7D%FF")
    assert r.status_code == 400


@pytest.mark.parametrize("query", ["", "   \n\t "])
def test_empty_query_is_400(client: FlaskClient, query: str) -> None:
    assert client.get("/sparql", query_string={"query": query}).status_code == 400
    r = client.post("/sparql", data=query.encode(), content_type="application/sparql-query")
    assert r.status_code == 400
    assert "empty" in r.text


def test_missing_query_with_other_params_is_400(client: FlaskClient) -> None:
    r = client.get("/sparql", query_string={"default-graph-uri": ASSERTED})
    assert r.status_code == 400
    assert "Missing 'query'" in r.text
    r = client.post("/sparql", data={"format": "json"}, content_type=FORM)
    assert r.status_code == 400


def test_unknown_param_is_400(client: FlaskClient) -> None:
    r = client.get("/sparql", query_string={"query": "ASK {}", "timeout": "1"})
    assert r.status_code == 400
    assert "Unknown parameter" in r.text


def test_syntax_error_is_400_with_position(client: FlaskClient) -> None:
    r = client.get(
        "/sparql", query_string={"query": "SELECT * WHERE {\n  ?s ?p ?o .\n  FILTER(?o = ) }"}
    )
    assert r.status_code == 400
    assert r.mimetype == "text/plain"
    assert "3:" in r.text  # line 3, with a column
    assert "Traceback" not in r.text


def test_syntax_error_in_from_query_is_400(client: FlaskClient) -> None:
    r = client.get("/sparql", query_string={"query": f"SELECT * FROM <{ASSERTED}> WHERE {{ ?s "})
    assert r.status_code == 400
    assert "Traceback" not in r.text


# ----------------------------------------------------------------- read-only


def test_update_param_is_refused_and_nothing_changes(client: FlaskClient) -> None:
    before = count(client)
    update = f"INSERT DATA {{ <{NS}x> <{NS}y> <{NS}z> }}"
    r = client.post("/sparql", data={"update": update}, content_type=FORM)
    assert r.status_code == 403
    assert "read-only" in r.text
    assert client.get("/sparql", query_string={"update": update}).status_code == 403
    assert count(client) == before


def test_sparql_update_media_type_is_refused(client: FlaskClient) -> None:
    before = count(client)
    r = client.post(
        "/sparql", data=f"CLEAR GRAPH <{ASSERTED}>", content_type="application/sparql-update"
    )
    assert r.status_code == 403
    assert count(client) == before


@pytest.mark.parametrize(
    "update",
    [
        f"INSERT DATA {{ <{NS}x> <{NS}y> <{NS}z> }}",
        "DELETE WHERE { ?s ?p ?o }",
        f"DROP GRAPH <{ASSERTED}>",
        "CLEAR ALL",
        f"LOAD <http://127.0.0.1:9/x> INTO GRAPH <{ASSERTED}>",
        f"PREFIX ex: <{NS}> delete data {{ ex:IL6 a ex:Cytokine }}",
    ],
)
def test_update_sent_as_query_is_4xx_and_nothing_changes(client: FlaskClient, update: str) -> None:
    before = count(client)
    r = client.get("/sparql", query_string={"query": update})
    assert 400 <= r.status_code < 500
    assert "read-only" in r.text
    r = client.post("/sparql", data=update.encode(), content_type="application/sparql-query")
    assert 400 <= r.status_code < 500
    assert count(client) == before


# ----------------------------------------------------------------- server faults


def test_genuine_server_fault_is_generic_500(release_dir: Path) -> None:
    app = make_app(release_dir)
    engine = runtime(app).engine

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("secret internal detail")

    engine.query = broken  # type: ignore[method-assign]  # executors fork with this fault
    try:
        r = app.test_client().get("/sparql", query_string={"query": "ASK {}"})
        assert r.status_code == 500
        assert "secret internal detail" not in r.text
        assert "Traceback" not in r.text
        assert "Internal server error" in r.text
    finally:
        runtime(app).pool.close()


def test_cors_headers_and_preflight(client: FlaskClient) -> None:
    r = client.get("/sparql", query_string={"query": "ASK {}"}, headers={"Origin": "http://x"})
    assert r.headers["Access-Control-Allow-Origin"] == "*"
    r = client.options(
        "/sparql", headers={"Origin": "http://x", "Access-Control-Request-Method": "POST"}
    )
    assert r.status_code == 200
    assert "POST" in r.headers["Access-Control-Allow-Methods"]


def test_rdflib_engine_gives_the_same_answers(release_dir: Path) -> None:
    app = make_app(release_dir, engine="rdflib")
    c = app.test_client()
    try:
        r = c.get("/sparql", query_string={"query": CYTOKINES})
        assert uris(r.json, "c") == [IL1B, IL6, TNF]
        assert count(c) == N_ASSERTED + N_INFERRED
        assert count(c, **{"default-graph-uri": INFERRED}) == N_INFERRED
        r = c.get("/sparql", query_string={"query": f"ASK {{ <{IL6}> a <{PROTEIN}> }}"})
        assert r.json["boolean"] is True
        r = c.get("/sparql", query_string={"query": f"DESCRIBE <{IL6R}>", "format": "nt"})
        assert f"<{RECEPTOR}>" in r.text
        body = json.loads(c.get("/version").text)
        assert body["engine"] == "rdflib"
    finally:
        runtime(app).pool.close()


# ----------------------------------------------------------------- parameters clients add


def test_parameters_clients_add_are_accepted(client: FlaskClient) -> None:
    # SPARQLWrapper: format/output/results; jQuery: _= cache-buster.
    qs = [("query", CYTOKINES), ("format", "json"), ("output", "json"), ("results", "json"),
          ("_", "1700000000000")]
    for r in (
        client.get("/sparql", query_string=qs),
        client.post("/sparql", data=urlencode(qs), content_type=FORM),
        client.post(f"/sparql?{urlencode(qs[1:])}", data=CYTOKINES.encode(),
                    content_type="application/sparql-query"),
    ):
        assert r.status_code == 200, r.text
        assert uris(r.json, "c") == [IL1B, IL6, TNF]


@pytest.mark.parametrize("name", ["timeout", "callback", "infer", "default-graph", "update"])
def test_parameters_that_would_change_meaning_are_still_refused(
    client: FlaskClient, name: str
) -> None:
    r = client.get("/sparql", query_string={"query": "ASK {}", name: "x"})
    assert r.status_code in (400, 403)
    assert name in r.text


def test_cache_buster_alone_still_gives_the_service_description(client: FlaskClient) -> None:
    r = client.get("/sparql", query_string={"_": "123"}, headers={"Accept": "text/turtle"})
    assert (r.status_code, r.mimetype) == (200, "text/turtle")


# ----------------------------------------------------------------- relative IRIs


@pytest.mark.parametrize("engine", ["oxigraph", "rdflib"])
def test_relative_iris_resolve_against_the_endpoint_url(release_dir: Path, engine: str) -> None:
    from rdflib import Graph, Literal, URIRef

    app = make_app(release_dir, engine=engine)
    c = app.test_client()
    try:
        r = c.get("/sparql", query_string={"query": "CONSTRUCT { <s> <p> 1 } WHERE {}"},
                  headers={"Accept": "application/n-triples"},
                  base_url="http://sparql.example:8080")
        assert r.status_code == 200, r.text
        g = Graph().parse(data=r.data, format="nt")
        root = "http://sparql.example:8080/"
        assert set(g) == {(URIRef(root + "s"), URIRef(root + "p"), Literal(1))}
        # The query's own BASE still applies (rdflib takes a relative BASE as it stands,
        # pyoxigraph resolves it against ours as RFC 3986 asks).
        q = "BASE <http://other.example/sub/> SELECT ?x WHERE { BIND(<y> AS ?x) }"
        r = c.get("/sparql", query_string={"query": q}, base_url="http://sparql.example:8080")
        assert uris(r.json, "x") == ["http://other.example/sub/y"]
        if engine == "oxigraph":
            q = "BASE <sub/> SELECT ?x WHERE { BIND(<y> AS ?x) }"
            r = c.get("/sparql", query_string={"query": q},
                      base_url="http://sparql.example:8080")
            assert uris(r.json, "x") == [root + "sub/y"]
        q = f"PREFIX : <{NS}> SELECT ?x WHERE {{ BIND(<http://elsewhere.example/y> AS ?x) }}"
        r = c.get("/sparql", query_string={"query": q})
        assert uris(r.json, "x") == ["http://elsewhere.example/y"]
    finally:
        runtime(app).pool.close()


def test_relative_iri_query_errors_keep_the_clients_line_numbers(client: FlaskClient) -> None:
    q = "SELECT * WHERE {\n  <s> ?p ?o .\n  FILTER(?o = ) }"
    r = client.get("/sparql", query_string={"query": q})
    assert r.status_code == 400
    assert "3:" in r.text, r.text
    assert "BASE" not in r.text


def test_relative_iri_answers_are_not_shared_between_hosts(client: FlaskClient) -> None:
    # Repeated GETs are answered from a cache before Flask: the Host must be part of its key.
    q = {"query": "SELECT ?x WHERE { BIND(<s> AS ?x) }"}
    for _ in range(2):
        for host in ("one.example", "two.example:81"):
            r = client.get("/sparql", query_string=q, headers={"Host": host})
            assert uris(r.json, "x") == [f"http://{host}/s"]
    r = client.get("/sparql", query_string=q, environ_overrides={"HTTP_HOST": "bad host"})
    assert r.status_code == 400
