"""SPARQLWrapper in its default mode against the real server: every form, format and method.

SPARQLWrapper sends ``format``, ``output`` and ``results`` (and for TSV, JSON-LD and RDF/XML
``format`` twice), so this is where lenient parameter handling is proven.
"""

from __future__ import annotations

import pytest
from suites import ALL_FORMATS, FITTING_FORMATS, METHODS, QUERIES, sparqlwrapper_case


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("fmt", ALL_FORMATS)
@pytest.mark.parametrize("query_type", list(FITTING_FORMATS))
def test_sparqlwrapper_default_mode(endpoint: str, query_type: str, fmt: str, method: str) -> None:
    outcome = sparqlwrapper_case(endpoint, query_type, fmt, method)
    assert outcome.ok, outcome.detail


def test_sparqlwrapper_gets_the_format_it_asked_for(endpoint: str) -> None:
    """Where the format fits the query form, the answer comes in it (not just some format)."""
    from SPARQLWrapper import SPARQLWrapper

    expected = {
        ("SELECT", "csv"): "text/csv",
        ("SELECT", "tsv"): "text/tab-separated-values",
        ("ASK", "xml"): "application/sparql-results+xml",
        ("CONSTRUCT", "xml"): "application/rdf+xml",
        ("CONSTRUCT", "rdf+xml"): "application/rdf+xml",
        ("CONSTRUCT", "json-ld"): "application/ld+json",
        ("DESCRIBE", "turtle"): "text/turtle",
        ("DESCRIBE", "n3"): "text/n3",
    }
    for (query_type, fmt), media_type in expected.items():
        sw = SPARQLWrapper(endpoint)
        sw.setQuery(QUERIES[query_type])
        sw.setReturnFormat(fmt)
        result = sw.query()
        assert result.info()["content-type"].split(";")[0] == media_type, (query_type, fmt)
        result.response.close()
