"""Count how many client-compatibility cases pass against a SPARQL endpoint URL.

    .venv/bin/python tests/clients/measure.py http://127.0.0.1:8000/sparql

Prints one line per suite (passed/total) and every failure; the endpoint must hold the
test fixture release (tests/endpoint/srv_release.py) for the answers to match.
"""

from __future__ import annotations

import sys

from suites import (
    js_suite,
    rdflib_service_suite,
    sparqlstore_suite,
    sparqlwrapper_suite,
    summarise,
)
from w3c_protocol import protocol_suite


def main(argv: list[str]) -> int:
    """Run every suite against the endpoint named on the command line."""
    endpoint = argv[1]
    suites = {
        "SPARQLWrapper default mode, fitting formats (18 form-format pairs x 3 methods, 54)": (
            lambda: sparqlwrapper_suite(endpoint)
        ),
        "SPARQLWrapper default mode, every format (108)": (
            lambda: sparqlwrapper_suite(endpoint, every_format=True)
        ),
        "rdflib SERVICE": lambda: rdflib_service_suite(endpoint),
        "rdflib SPARQLStore": lambda: sparqlstore_suite(endpoint),
        "sparql-http-client (npm)": lambda: js_suite(endpoint),
        "W3C SPARQL 1.1 Protocol query tests": lambda: protocol_suite(endpoint),
    }
    for name, run in suites.items():
        print(summarise(name, run()), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
