"""The W3C SPARQL 1.1 Protocol query tests that apply to a read-only service, in our own words.

The W3C suite (rdf-tests, sparql/sparql11/protocol) names each test; the data-dependent
ones are adapted to the fixture release: its two named graphs stand in for the suite's
data files, and the expected answers are counted from tests/endpoint/srv_release.py.
Update tests apply only as refusals: every update sent here must get a 4xx and change
nothing.  Each case is a plain HTTP exchange, so it runs against any endpoint URL.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests
from suites import ASSERTED, NS, Outcome, run_case

INFERRED = NS + "graph/inferred"
N_ASSERTED, N_INFERRED = 23, 9  # triples in the fixture release's two graphs
RESULTS_TYPES = (
    "application/sparql-results+xml",
    "application/sparql-results+json",
    "text/csv",
    "text/tab-separated-values",
)
#: RDF media types a graph answer may come in, with the rdflib parser for each.
RDF_PARSERS = {
    "text/turtle": "turtle",
    "application/rdf+xml": "xml",
    "application/n-triples": "nt",
    "application/ld+json": "json-ld",
    "application/n-quads": "nquads",
    "application/trig": "trig",
    "text/n3": "n3",
}
RDF_TYPES = tuple(RDF_PARSERS)
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
DIRECT = {"Content-Type": "application/sparql-query"}
COUNT = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"
GRAPHS = "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } } ORDER BY ?g"
TIMEOUT = 15


@dataclass(frozen=True)
class Case:
    """One protocol test: its W3C name and the exchange that must hold."""

    name: str
    run: Callable[[str], None]


def _mime(r: requests.Response) -> str:
    return r.headers.get("Content-Type", "").split(";")[0].strip().lower()


def _ok(r: requests.Response, types: tuple[str, ...]) -> None:
    assert r.status_code == 200, f"{r.status_code}: {r.text[:200]}"
    assert _mime(r) in types, f"Content-Type {_mime(r)!r}"


def _4xx(r: requests.Response) -> None:
    assert 400 <= r.status_code < 500, f"{r.status_code}: {r.text[:200]}"


def _count(r: requests.Response) -> int:
    _ok(r, ("application/sparql-results+json",))
    return int(r.json()["results"]["bindings"][0]["n"]["value"])


def _graph_names(r: requests.Response) -> list[str]:
    _ok(r, ("application/sparql-results+json",))
    return [b["g"]["value"] for b in r.json()["results"]["bindings"]]


def _unchanged(url: str) -> None:
    """The store still holds exactly the fixture triples."""
    assert _count(requests.get(url, params={"query": COUNT}, timeout=TIMEOUT)) == (
        N_ASSERTED + N_INFERRED
    )


def query_get(url: str) -> None:
    r = requests.get(url, params={"query": "ASK { ?s ?p ?o }"}, timeout=TIMEOUT)
    _ok(r, RESULTS_TYPES)


def query_post_form(url: str) -> None:
    r = requests.post(url, data={"query": "ASK { ?s ?p ?o }"}, headers={
        **FORM, "Accept": "application/sparql-results+xml"}, timeout=TIMEOUT)
    _ok(r, ("application/sparql-results+xml",))
    assert "<boolean>true</boolean>" in r.text


def query_post_direct(url: str) -> None:
    r = requests.post(url, data=b"ASK { ?s ?p ?o }", headers=DIRECT, timeout=TIMEOUT)
    _ok(r, RESULTS_TYPES)


def query_dataset_default_graph(url: str) -> None:
    r = requests.get(url, params={"query": COUNT, "default-graph-uri": ASSERTED}, timeout=TIMEOUT)
    assert _count(r) == N_ASSERTED


def query_dataset_default_graphs_get(url: str) -> None:
    params = [("query", COUNT), ("default-graph-uri", ASSERTED), ("default-graph-uri", INFERRED)]
    assert _count(requests.get(url, params=params, timeout=TIMEOUT)) == N_ASSERTED + N_INFERRED


def query_dataset_default_graphs_post(url: str) -> None:
    data = [("query", COUNT), ("default-graph-uri", ASSERTED), ("default-graph-uri", INFERRED)]
    r = requests.post(url, data=data, headers=FORM, timeout=TIMEOUT)
    assert _count(r) == N_ASSERTED + N_INFERRED


def query_dataset_named_graphs_get(url: str) -> None:
    params = [("query", GRAPHS), ("named-graph-uri", ASSERTED), ("named-graph-uri", INFERRED)]
    names = _graph_names(requests.get(url, params=params, timeout=TIMEOUT))
    assert names == [ASSERTED, INFERRED], names


def query_dataset_named_graphs_post(url: str) -> None:
    data = [("query", GRAPHS), ("named-graph-uri", INFERRED)]
    names = _graph_names(requests.post(url, data=data, headers=FORM, timeout=TIMEOUT))
    assert names == [INFERRED], names


def query_dataset_full(url: str) -> None:
    q = (
        "SELECT ?g (COUNT(*) AS ?n) WHERE { { ?s ?p ?o BIND('default' AS ?g) } "
        "UNION { GRAPH ?g { ?s ?p ?o } } } GROUP BY ?g ORDER BY ?g"
    )
    params = [("query", q), ("default-graph-uri", ASSERTED), ("named-graph-uri", INFERRED)]
    r = requests.get(url, params=params, timeout=TIMEOUT)
    _ok(r, ("application/sparql-results+json",))
    rows = {b["g"]["value"]: int(b["n"]["value"]) for b in r.json()["results"]["bindings"]}
    assert rows == {"default": N_ASSERTED, INFERRED: N_INFERRED}, rows


def query_multiple_dataset(url: str) -> None:
    # The protocol's dataset replaces the query's own FROM.
    q = f"SELECT (COUNT(*) AS ?n) FROM <{INFERRED}> WHERE {{ ?s ?p ?o }}"
    r = requests.get(url, params={"query": q, "default-graph-uri": ASSERTED}, timeout=TIMEOUT)
    assert _count(r) == N_ASSERTED


def query_content_type_select(url: str) -> None:
    _ok(requests.get(url, params={"query": "SELECT ?s WHERE { ?s ?p ?o } LIMIT 1"},
                     timeout=TIMEOUT), RESULTS_TYPES)


def query_content_type_ask(url: str) -> None:
    _ok(requests.post(url, data={"query": "ASK {}"}, headers=FORM, timeout=TIMEOUT),
        RESULTS_TYPES)


def query_content_type_describe(url: str) -> None:
    r = requests.post(url, data={"query": "DESCRIBE <http://example.org/>"}, headers=FORM,
                      timeout=TIMEOUT)
    _ok(r, RDF_TYPES)


def query_content_type_construct(url: str) -> None:
    # Relative IRIs resolve against the endpoint's URL.
    from rdflib import Dataset, Literal, URIRef

    r = requests.post(url, data={"query": "CONSTRUCT { <s> <p> 1 } WHERE {}"}, headers=FORM,
                      timeout=TIMEOUT)
    _ok(r, RDF_TYPES)
    root = "{0.scheme}://{0.netloc}/".format(urlsplit(url))
    g = Dataset().parse(data=r.text, format=RDF_PARSERS[_mime(r)])
    triple = (URIRef(root + "s"), URIRef(root + "p"), Literal(1))
    assert any(triple in graph for graph in g.graphs()), r.text


def bad_query_method(url: str) -> None:
    _4xx(requests.put(url, params={"query": "ASK {}"}, timeout=TIMEOUT))


def bad_multiple_queries(url: str) -> None:
    params = [("query", "ASK {}"), ("query", "SELECT * WHERE {}")]
    _4xx(requests.get(url, params=params, timeout=TIMEOUT))


def bad_query_wrong_media_type(url: str) -> None:
    _4xx(requests.post(url, data=b"ASK {}", headers={"Content-Type": "text/plain"},
                       timeout=TIMEOUT))


def bad_query_missing_form_type(url: str) -> None:
    _4xx(requests.post(url, data=b"query=ASK%20%7B%7D", timeout=TIMEOUT))


def bad_query_missing_direct_type(url: str) -> None:
    _4xx(requests.post(url, data=b"ASK {}", timeout=TIMEOUT))


def bad_query_non_utf8(url: str) -> None:
    body = 'ASK { ?s ?p "caf\u00e9" }'.encode("iso-8859-1")
    headers = {"Content-Type": "application/sparql-query; charset=ISO-8859-1"}
    _4xx(requests.post(url, data=body, headers=headers, timeout=TIMEOUT))


def bad_query_syntax(url: str) -> None:
    _4xx(requests.get(url, params={"query": "ASK {"}, timeout=TIMEOUT))


def bad_update_get(url: str) -> None:
    _4xx(requests.get(url, params={"update": f"CLEAR GRAPH <{ASSERTED}>"}, timeout=TIMEOUT))
    _unchanged(url)


def bad_multiple_updates(url: str) -> None:
    data = [("update", "CLEAR NAMED"), ("update", "CLEAR DEFAULT")]
    _4xx(requests.post(url, data=data, headers=FORM, timeout=TIMEOUT))
    _unchanged(url)


def bad_update_missing_form_type(url: str) -> None:
    _4xx(requests.post(url, data=b"update=CLEAR%20NAMED", timeout=TIMEOUT))
    _unchanged(url)


def bad_update_non_utf8(url: str) -> None:
    body = f'INSERT DATA {{ <{NS}s> <{NS}p> "caf\u00e9" }}'.encode("iso-8859-1")
    headers = {"Content-Type": "application/sparql-update; charset=ISO-8859-1"}
    _4xx(requests.post(url, data=body, headers=headers, timeout=TIMEOUT))
    _unchanged(url)


def bad_update_syntax(url: str) -> None:
    _4xx(requests.post(url, data={"update": "CLEAR XYZ"}, headers=FORM, timeout=TIMEOUT))


def bad_update_dataset_conflict(url: str) -> None:
    data = {"update": f"WITH <{ASSERTED}> DELETE {{ ?s ?p ?o }} WHERE {{ ?s ?p ?o }}",
            "using-graph-uri": INFERRED}
    _4xx(requests.post(url, data=data, headers=FORM, timeout=TIMEOUT))
    _unchanged(url)


def update_sent_as_query(url: str) -> None:
    # A read-only service refuses updates however they arrive, and nothing changes.
    _4xx(requests.post(url, data={"query": "CLEAR ALL"}, headers=FORM, timeout=TIMEOUT))
    _4xx(requests.post(url, data=b"DROP ALL", headers={
        "Content-Type": "application/sparql-update"}, timeout=TIMEOUT))
    _unchanged(url)


CASES: tuple[Case, ...] = tuple(
    Case(fn.__name__, fn)
    for fn in (
        query_get,
        query_post_form,
        query_post_direct,
        query_dataset_default_graph,
        query_dataset_default_graphs_get,
        query_dataset_default_graphs_post,
        query_dataset_named_graphs_get,
        query_dataset_named_graphs_post,
        query_dataset_full,
        query_multiple_dataset,
        query_content_type_select,
        query_content_type_ask,
        query_content_type_describe,
        query_content_type_construct,
        bad_query_method,
        bad_multiple_queries,
        bad_query_wrong_media_type,
        bad_query_missing_form_type,
        bad_query_missing_direct_type,
        bad_query_non_utf8,
        bad_query_syntax,
        bad_update_get,
        bad_multiple_updates,
        bad_update_missing_form_type,
        bad_update_non_utf8,
        bad_update_syntax,
        bad_update_dataset_conflict,
        update_sent_as_query,
    )
)


def protocol_suite(endpoint: str) -> list[Outcome]:
    """Run every case against ``endpoint``."""
    return [run_case(case.name, lambda c=case: c.run(endpoint)) for case in CASES]
