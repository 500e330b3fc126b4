"""Service description (SPARQL 1.1 Service Description), VoID, health and version."""

from __future__ import annotations

from flask.testing import FlaskClient
from rdflib import Graph, Literal, Namespace, URIRef
from rdflib.namespace import RDF, RDFS, VOID
from srv_release import ASSERTED, INFERRED, N_ASSERTED, N_INFERRED, NS

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
