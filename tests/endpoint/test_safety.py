"""Nothing leaves the building: SERVICE, FROM and dataset parameters never fetch anything."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask.testing import FlaskClient
from srv_helpers import Trap
from srv_release import ASSERTED, INFERRED, N_ASSERTED

from server import guard


def refused(client: FlaskClient, trap: Trap, query: str, **params: str) -> str:
    """Send a query by GET and direct POST; both must be 400 and the trap untouched."""
    r = client.get("/sparql", query_string={"query": query, **params})
    assert r.status_code == 400, r.text
    r2 = client.post(
        "/sparql", data=query.encode(), content_type="application/sparql-query", query_string=params
    )
    assert r2.status_code == 400, r2.text
    assert trap.connections == 0
    return r.text


def test_service_to_local_listener_is_refused(client: FlaskClient, trap: Trap) -> None:
    text = refused(client, trap, f"SELECT * WHERE {{ SERVICE <{trap.url}> {{ ?s ?p ?o }} }}")
    assert "SERVICE" in text


@pytest.mark.parametrize(
    "template",
    [
        "select * where {{ service silent <{url}> {{ ?s ?p ?o }} }}",
        "SELECT * WHERE {{ ?a ?b ?c FILTER EXISTS {{ SERVICE <{url}> {{ ?s ?p ?o }} }} }}",
        "SELECT * WHERE {{ {{ SELECT ?s WHERE {{ SERVICE <{url}> {{ ?s ?p ?o }} }} }} }}",
        "PREFIX r: <{url}#> SELECT * WHERE {{ SERVICE r:x {{ ?s ?p ?o }} }}",
        "SELECT * WHERE {{ BIND(<{url}> AS ?u) SERVICE ?u {{ ?s ?p ?o }} }}",
        "ASK {{ SERVICE <{url}> {{}} }}",
        "CONSTRUCT WHERE {{ SERVICE <{url}> {{ ?s ?p ?o }} }}",
        "SELECT * WHERE {{ SERV\\u0049CE <{url}> {{ ?s ?p ?o }} }}",
        "SELECT * WHERE {{ #\n SERVICE <{url}> {{ ?s ?p ?o }} }}",
    ],
)
def test_service_in_any_position_is_refused(client: FlaskClient, trap: Trap, template: str) -> None:
    refused(client, trap, template.format(url=trap.url))


def test_from_foreign_iri_is_refused(client: FlaskClient, trap: Trap) -> None:
    text = refused(client, trap, f"SELECT * FROM <{trap.url}> WHERE {{ ?s ?p ?o }}")
    assert trap.url in text and ASSERTED in text


def test_from_named_foreign_iri_is_refused(client: FlaskClient, trap: Trap) -> None:
    q = f"SELECT * FROM <{ASSERTED}> FROM NAMED <{trap.url}> WHERE {{ GRAPH ?g {{ ?s ?p ?o }} }}"
    refused(client, trap, q)


def test_from_with_prefixed_and_relative_foreign_iris_is_refused(
    client: FlaskClient, trap: Trap
) -> None:
    refused(client, trap, f"PREFIX t: <{trap.url}/> SELECT * FROM t:g WHERE {{ ?s ?p ?o }}")
    refused(client, trap, f"BASE <{trap.url}/> SELECT * FROM <g> WHERE {{ ?s ?p ?o }}")


def test_from_file_iri_is_refused_and_does_not_leak(
    client: FlaskClient, trap: Trap, secret_file: Path
) -> None:
    iri = secret_file.as_uri()
    for q in (
        f"SELECT * FROM <{iri}> WHERE {{ ?s ?p ?o }}",
        f"SELECT * FROM NAMED <{iri}> WHERE {{ GRAPH ?g {{ ?s ?p ?o }} }}",
        f"SELECT * WHERE {{ SERVICE <{iri}> {{ ?s ?p ?o }} }}",
        f"CONSTRUCT {{ ?s ?p ?o }} FROM <{iri}> WHERE {{ ?s ?p ?o }}",
    ):
        text = refused(client, trap, q)
        assert "TOP-SECRET" not in text
    # A query that merely mentions the IRI as a graph name sees nothing either.
    r = client.get(
        "/sparql", query_string={"query": f"SELECT * WHERE {{ GRAPH <{iri}> {{ ?s ?p ?o }} }}"}
    )
    assert r.status_code == 200
    assert "TOP-SECRET" not in r.text
    assert r.json["results"]["bindings"] == []


@pytest.mark.parametrize("param", ["default-graph-uri", "named-graph-uri"])
def test_2_1_4_foreign_dataset_params_are_refused(
    client: FlaskClient, trap: Trap, secret_file: Path, param: str
) -> None:
    for iri in (trap.url, secret_file.as_uri()):
        r = client.get("/sparql", query_string={"query": "SELECT * { ?s ?p ?o }", param: iri})
        assert r.status_code == 400
        assert "TOP-SECRET" not in r.text
        r = client.post(
            "/sparql",
            data={"query": "ASK {}", param: iri},
            content_type="application/x-www-form-urlencoded",
        )
        assert r.status_code == 400
    assert trap.connections == 0


def test_keywords_in_strings_iris_and_comments_are_not_refused(client: FlaskClient) -> None:
    q = (
        "PREFIX ex: <https://w3id.org/cytokg/service/> # SERVICE FROM\n"
        "SELECT ?service ?from (COUNT(*) AS ?n) WHERE { ?s ?p ?o "
        'BIND("SERVICE <x> {}" AS ?service) BIND(ex:from AS ?from) } '
        "GROUP BY ?service ?from"
    )
    r = client.get("/sparql", query_string={"query": q, "default-graph-uri": ASSERTED})
    assert r.status_code == 200, r.text
    assert r.json["results"]["bindings"][0]["n"]["value"] == str(N_ASSERTED)


def test_our_graphs_by_from_named_work(client: FlaskClient) -> None:
    q = f"SELECT DISTINCT ?g FROM NAMED <{INFERRED}> WHERE {{ GRAPH ?g {{ ?s ?p ?o }} }}"
    r = client.get("/sparql", query_string={"query": q})
    assert r.status_code == 200, r.text
    assert [b["g"]["value"] for b in r.json["results"]["bindings"]] == [INFERRED]


def test_guard_lexer_units() -> None:
    assert guard.inspect_query("ASK { ?s ?p 'from' }") == guard.Inspection("ASK", False)
    assert guard.inspect_query("SELECT * FROM <x> {}").has_from
    with pytest.raises(guard.UpdateRefused):
        guard.inspect_query("PREFIX a: <x:> WITH <x:g> DELETE { ?s ?p ?o } WHERE { ?s ?p ?o }")
    with pytest.raises(guard.Refused):
        guard.inspect_query('SELECT * WHERE { """a "" b""" ?p ?o . SERVICE <x:> {} }')
