"""Service description (SPARQL 1.1 Service Description), VoID, health and version routes."""

from __future__ import annotations

import re
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as package_version

from flask import Blueprint, Response, jsonify, render_template, request, url_for
from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import RDF, RDFS, VOID, XSD

from kg.results import turtle_from_ntriples
from kg.store import BASE

from . import errors, formats, runtime

bp = Blueprint("service", __name__)
SD = Namespace("http://www.w3.org/ns/sparql-service-description#")

#: media type -> rdflib serialiser name, in order of preference for descriptions.
DESCRIPTION_TYPES: dict[str, str] = {
    "text/turtle": "turtle",
    "application/ld+json": "json-ld",
    "application/rdf+xml": "xml",
    "application/n-triples": "nt",
}
#: Prefixes written in Turtle descriptions (rdflib binds many more by default).
DESCRIPTION_PREFIXES = ("sd", "void", "cytokg", "rdf", "rdfs", "xsd", "dcterms", "owl", "foaf")


def _pick_description_type(allow_html: bool) -> str:
    """Negotiate an RDF type (or HTML for browsers) for a description document."""
    requested = request.args.get("format")
    if requested:
        if allow_html and requested.lower() in ("html", "text/html"):
            return "text/html"
        fmt = formats.lookup(requested)
        if fmt is None or fmt.media_type not in DESCRIPTION_TYPES:
            raise errors.bad_request(f"Unknown description format {requested!r}.")
        return fmt.media_type
    offers = list(DESCRIPTION_TYPES)
    if allow_html:
        offers.insert(1, "text/html")  # explicit text/html (browsers) beats */* below turtle
    chosen = formats.negotiate(request.headers.get("Accept"), offers)
    if chosen is None:
        raise errors.not_acceptable(f"Descriptions are available as {', '.join(offers)}.")
    return chosen


def _rdf_response(graph: Graph, media_type: str) -> Response:
    """Serialise an rdflib graph in the negotiated media type."""
    body = _serialize(graph, media_type)
    ctype = media_type + ("; charset=utf-8" if media_type.startswith("text/") else "")
    resp = Response(body, content_type=ctype)
    resp.headers["Vary"] = "Accept"
    return resp


def describe(endpoint: str, void_url: str) -> Graph:
    """Build the SPARQL 1.1 Service Description (section 3) of this endpoint."""
    rt = runtime()
    g = Graph()
    g.bind("sd", SD)
    g.bind("void", VOID)
    g.bind("cytokg", BASE)
    service = URIRef(endpoint)
    g.add((service, RDF.type, SD.Service))
    g.add((service, SD.endpoint, URIRef(endpoint)))
    g.add((service, SD.supportedLanguage, SD.SPARQL11Query))
    g.add((service, SD.feature, SD.UnionDefaultGraph))
    g.add((service, RDFS.seeAlso, URIRef(void_url)))
    for fmt in formats.ALL_FORMATS:
        g.add((service, SD.resultFormat, URIRef(fmt.w3c)))
    dataset = BNode("dataset")
    g.add((service, SD.defaultDataset, dataset))
    g.add((dataset, RDF.type, SD.Dataset))
    g.add((dataset, RDFS.seeAlso, URIRef(void_url)))
    default = BNode("defaultGraph")
    g.add((dataset, SD.defaultGraph, default))
    g.add((default, RDF.type, SD.Graph))
    g.add((default, RDFS.comment, Literal("The union of all named graphs.")))
    g.add((default, VOID.triples, Literal(rt.engine.count(), datatype=XSD.integer)))
    for iri in rt.engine.graphs:
        named = BNode()
        graph = BNode()
        g.add((dataset, SD.namedGraph, named))
        g.add((named, RDF.type, SD.NamedGraph))
        g.add((named, SD.name, URIRef(iri)))
        g.add((named, SD.graph, graph))
        g.add((graph, RDF.type, SD.Graph))
        g.add((graph, VOID.triples, Literal(rt.engine.count(iri), datatype=XSD.integer)))
    return g


#: A Host header value (RFC 9110 section 7.2): a registered name or IPv4 address, or an
#: IPv6 literal in brackets, then an optional port.  Commas (repeated headers joined),
#: spaces, slashes, ``@`` and empty names are refused.
_HOST = re.compile(
    r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}"
    r"[A-Za-z0-9])?)*\.?|\[[0-9A-Fa-f:.]{2,45}\])(?::[0-9]{1,5})?\Z"
)


def endpoint_url() -> str:
    """This endpoint's URL as the client addressed it, from a single well-formed Host header.

    A missing, repeated or malformed Host is a 400 (RFC 9112 section 3.2 asks a server to
    refuse such requests), never an endpoint IRI with an empty or forged authority.
    """
    hosts = request.environ.get("HTTP_HOST")
    if hosts is None or hosts == "":
        raise errors.bad_request("The request has no Host header; send one (HTTP/1.1).")
    if len(hosts) > 260 or not _HOST.match(hosts):
        raise errors.bad_request(
            "The Host header is repeated or malformed; send exactly one host[:port]."
        )
    return url_for("sparql.sparql", _external=True)


def _serialize(graph: Graph, media_type: str) -> bytes:
    """Serialise a description; Turtle by our writer, whose prefixed names carry no escapes."""
    if media_type == "text/turtle":
        prefixes = {p: str(ns) for p, ns in graph.namespaces() if p in DESCRIPTION_PREFIXES}
        return turtle_from_ntriples(graph.serialize(format="nt", encoding="utf-8"), prefixes)
    return graph.serialize(format=DESCRIPTION_TYPES[media_type], encoding="utf-8")


def service_description() -> Response:
    """Protocol 2.1 / Service Description 2: GET /sparql without a query describes the service."""
    rt = runtime()
    media_type = _pick_description_type(allow_html=True)
    endpoint = endpoint_url()
    void_url = url_for("service.void", _external=True)
    if media_type == "text/html":
        return Response(
            render_template(
                "service.html",
                endpoint=endpoint,
                void_url=void_url,
                formats=formats.FORMATS,
                graphs=[(iri, rt.engine.count(iri)) for iri in rt.engine.graphs],
                settings=rt.settings,
                version=rt.manifest.get("version", "unknown"),
            ),
            content_type="text/html; charset=utf-8",
            headers={"Vary": "Accept"},
        )
    key = (endpoint, media_type)
    body = rt.description_cache.get(key)
    if body is None:
        body = _serialize(describe(endpoint, void_url), media_type)
        rt.description_cache.put(key, body)
    ctype = media_type + ("; charset=utf-8" if media_type.startswith("text/") else "")
    return Response(body, content_type=ctype, headers={"Vary": "Accept"})


@bp.route("/.well-known/void")
def void() -> Response:
    """The release's VoID description (RFC 5785 well-known location used by VoID 7.2)."""
    rt = runtime()
    media_type = _pick_description_type(allow_html=False)
    if media_type == "text/turtle":
        return Response(
            rt.void_ttl, content_type="text/turtle; charset=utf-8", headers={"Vary": "Accept"}
        )
    g = Graph()
    g.parse(data=rt.void_ttl, format="turtle")
    return _rdf_response(g, media_type)


@bp.route("/health")
def health() -> Response:
    """Liveness probe: the store is loaded; cheap, never runs a query."""
    rt = runtime()
    return jsonify(
        status="ok",
        engine=rt.engine.name,
        triples={iri: rt.engine.count(iri) for iri in rt.engine.graphs},
    )


@bp.route("/version")
def version() -> Response:
    """Which release (from manifest.json) and which server build answer here."""
    rt = runtime()
    try:
        server_version = package_version("cytokg")
    except PackageNotFoundError:
        server_version = "unknown"
    manifest = rt.manifest
    return jsonify(
        name="cytokg",
        version=manifest.get("version"),
        sources_hash=manifest.get("sources_hash"),
        counts=manifest.get("counts", {}),
        files=manifest.get("files", {}),
        server_version=server_version,
        engine=rt.engine.name,
    )
