"""Service description (SPARQL 1.1 Service Description), VoID, health and version."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from rdflib import Graph, Literal, Namespace, URIRef
from rdflib.namespace import RDF, RDFS, VOID
from srv_helpers import LiveServer
from srv_release import ASSERTED, INFERRED, N_ASSERTED, N_INFERRED, NS

from server import runtime

SD = Namespace("http://www.w3.org/ns/sparql-service-description#")
FMT = "http://www.w3.org/ns/formats/"


def description(client: FlaskClient, accept: str, rdflib_format: str) -> Graph:
    r = client.get("/sparql", headers={"Accept": accept})
    assert r.status_code == 200
    assert r.mimetype == accept
    return Graph().parse(data=r.data, format=rdflib_format)


def test_get_without_query_is_a_turtle_service_description(client: FlaskClient) -> None:
    r = client.get("/sparql")
    assert r.mimetype == "text/turtle"
    g = Graph().parse(data=r.data, format="turtle")
    service = URIRef("http://localhost/sparql")
    assert (service, RDF.type, SD.Service) in g
    assert (service, SD.endpoint, service) in g
    assert (service, SD.supportedLanguage, SD.SPARQL11Query) in g
    formats = set(g.objects(service, SD.resultFormat))
    assert {
        URIRef(FMT + x)
        for x in (
            "SPARQL_Results_JSON",
            "SPARQL_Results_XML",
            "SPARQL_Results_CSV",
            "SPARQL_Results_TSV",
            "Turtle",
            "JSON-LD",
            "N-Triples",
            "RDF_XML",
            "N3",
            "N-Quads",
            "TriG",
        )
    } == formats
    dataset = g.value(service, SD.defaultDataset)
    names = {g.value(n, SD.name) for n in g.objects(dataset, SD.namedGraph)}
    assert names == {URIRef(ASSERTED), URIRef(INFERRED)}
    default = g.value(dataset, SD.defaultGraph)
    assert g.value(default, VOID.triples) == Literal(N_ASSERTED + N_INFERRED)
    assert (service, RDFS.seeAlso, URIRef("http://localhost/.well-known/void")) in g


def test_service_description_in_jsonld_and_rdfxml(client: FlaskClient) -> None:
    for accept, fmt in (("application/ld+json", "json-ld"), ("application/rdf+xml", "xml")):
        g = description(client, accept, fmt)
        assert (None, RDF.type, SD.Service) in g


def test_browsers_get_an_html_page(client: FlaskClient) -> None:
    accept = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
    r = client.get("/sparql", headers={"Accept": accept})
    assert r.mimetype == "text/html"
    assert "<form" in r.text and ASSERTED in r.text and "/.well-known/void" in r.text


def test_well_known_void(client: FlaskClient) -> None:
    r = client.get("/.well-known/void")
    assert r.mimetype == "text/turtle"
    g = Graph().parse(data=r.data, format="turtle")
    assert (URIRef(NS), RDF.type, VOID.Dataset) in g
    r = client.get("/.well-known/void", headers={"Accept": "application/ld+json"})
    assert r.mimetype == "application/ld+json"
    assert (URIRef(NS), RDF.type, VOID.Dataset) in Graph().parse(data=r.data, format="json-ld")
    assert client.get("/.well-known/void", headers={"Accept": "text/html"}).status_code == 406


def test_health(client: FlaskClient) -> None:
    r = client.get("/health")
    assert r.status_code == 200
    assert r.json == {
        "status": "ok",
        "engine": "oxigraph",
        "triples": {ASSERTED: N_ASSERTED, INFERRED: N_INFERRED},
    }


def test_version_comes_from_manifest(client: FlaskClient) -> None:
    r = client.get("/version")
    assert r.status_code == 200
    assert r.json["version"] == "0.1.0"
    assert r.json["sources_hash"] == "f" * 64
    assert r.json["counts"] == {"asserted": N_ASSERTED, "inferred": N_INFERRED}
    assert set(r.json["files"]) == {"cytokg-asserted.nt", "cytokg-inferred.nt", "void.ttl"}


def test_unknown_path_is_404_text(client: FlaskClient) -> None:
    r = client.get("/nope")
    assert r.status_code == 404
    assert r.mimetype == "text/plain"


# ----------------------------------------------------------------- Turtle and the Host header


def test_turtle_description_writes_odd_iris_in_full(client: FlaskClient) -> None:
    r = client.get("/sparql", headers={"Accept": "text/turtle"})
    assert "\\" not in r.text  # no escaped prefixed names such as cytokg:graph\/asserted
    assert f"<{ASSERTED}>" in r.text and f"<{INFERRED}>" in r.text
    assert "sd:Service" in r.text  # plain names keep their prefix


def test_description_follows_a_well_formed_host(client: FlaskClient) -> None:
    for host in ("sparql.example.org", "sparql.example.org:8443", "127.0.0.1:9", "[::1]:8000"):
        r = client.get("/sparql", headers={"Host": host, "Accept": "text/turtle"})
        assert r.status_code == 200, (host, r.text)
        g = Graph().parse(data=r.data, format="turtle")
        assert (URIRef(f"http://{host}/sparql"), RDF.type, SD.Service) in g


@pytest.mark.parametrize(
    "host", ["", "a.example, b.example", "a b", "x/y", "user@host", "[::1", "h:port", "-x.example"]
)
def test_bad_host_is_400_never_an_empty_endpoint(client: FlaskClient, host: str) -> None:
    for accept in ("text/turtle", "application/ld+json", "text/html"):
        r = client.get("/sparql", environ_overrides={"HTTP_HOST": host},
                       headers={"Accept": accept})
        assert r.status_code == 400, (host, accept, r.text)
        assert "Host" in r.text
    # Relative IRIs need the endpoint's URL too.
    r = client.get("/sparql", query_string={"query": "SELECT * WHERE { <s> ?p ?o }"},
                   environ_overrides={"HTTP_HOST": host})
    assert r.status_code == 400 and "Host" in r.text
    # A query that needs no URL does not depend on the Host.
    r = client.get("/sparql", query_string={"query": "ASK {}"},
                   environ_overrides={"HTTP_HOST": host})
    assert r.status_code == 200


def test_description_cache_is_bounded(app: Flask) -> None:
    client = app.test_client()
    cache = runtime(app).description_cache
    for i in range(300):
        r = client.get("/sparql", headers={"Host": f"h{i}.example", "Accept": "text/turtle"})
        assert r.status_code == 200
        assert f"<http://h{i}.example/sparql>" in r.text
        assert len(cache) <= cache.maxsize
    assert len(cache) == cache.maxsize <= 64
    # Recent hosts are answered from the cache, byte for byte.
    again = client.get("/sparql", headers={"Host": "h299.example", "Accept": "text/turtle"})
    assert again.data == r.data


@pytest.fixture(scope="module")
def live(release_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The real server (Granian), for Host headers the test client cannot send."""
    server = LiveServer(release_dir, tmp_path_factory.mktemp("sd-live") / "server.log",
                        "--workers", "1", "--threads", "2")
    try:
        yield server
    finally:
        server.stop()


def raw_request(port: int, head: str) -> tuple[int, bytes]:
    """Send a hand-written request head; return the status code and the whole reply."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(head.encode("latin-1"))
        reply = b""
        while chunk := sock.recv(65536):
            reply += chunk
    return int(reply.split(b" ", 2)[1]), reply


@pytest.mark.parametrize(
    "host_lines",
    [
        "",  # no Host at all (HTTP/1.1 requires one)
        "Host: a.example\r\nHost: b.example\r\n",  # repeated
        "Host: \r\n",  # empty
        "Host: x/y@z\r\n",  # malformed
    ],
    ids=["missing", "repeated", "empty", "malformed"],
)
def test_live_server_refuses_bad_host_for_the_description(
    live: LiveServer, host_lines: str
) -> None:
    for version in ("HTTP/1.1", "HTTP/1.0"):
        head = (f"GET /sparql {version}\r\n{host_lines}Accept: text/turtle\r\n"
                "Connection: close\r\n\r\n")
        status, reply = raw_request(live.port, head)
        assert status == 400, reply[:300]
        assert b"http:///" not in reply and b"sd:endpoint" not in reply


def test_live_server_describes_itself_at_the_host_it_was_asked_by(live: LiveServer) -> None:
    head = (f"GET /sparql HTTP/1.1\r\nHost: 127.0.0.1:{live.port}\r\nAccept: text/turtle\r\n"
            "Connection: close\r\n\r\n")
    status, reply = raw_request(live.port, head)
    assert status == 200
    assert f"sd:endpoint <http://127.0.0.1:{live.port}/sparql>".encode() in reply
