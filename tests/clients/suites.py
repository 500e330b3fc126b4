"""Client-compatibility suites: real SPARQL client libraries against a running endpoint.

Each suite returns one :class:`Outcome` per case, so the same code serves the tests (every
case must pass) and ``measure.py`` (which counts passes against any endpoint URL, ours or a
reference server).  The cases read the test fixture release (tests/endpoint/srv_release.py):
three cytokines, each binding one receptor.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

NS = "https://w3id.org/cytokg/"
IL6 = NS + "IL6"
IL6R = NS + "IL6R"
CYTOKINE = NS + "Cytokine"
BINDS = NS + "bindsReceptor"
ASSERTED = NS + "graph/asserted"

QUERIES: dict[str, str] = {
    "SELECT": f"SELECT ?c WHERE {{ ?c a <{CYTOKINE}> }} ORDER BY ?c",
    "ASK": f"ASK {{ <{IL6}> <{BINDS}> <{IL6R}> }}",
    "CONSTRUCT": f"CONSTRUCT {{ ?c <{BINDS}> ?r }} WHERE {{ ?c <{BINDS}> ?r }}",
    "DESCRIBE": f"DESCRIBE <{IL6}>",
}


@dataclass(frozen=True)
class Outcome:
    """One case of a suite: its name, whether it passed, and why not."""

    case: str
    ok: bool
    detail: str = ""


def run_case(case: str, check: Callable[[], None]) -> Outcome:
    """Run one case, turning any exception into a failed outcome with its message."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            check()
    except Exception as exc:  # a client library raises many types; all are failures here
        return Outcome(case, False, f"{type(exc).__name__}: {' '.join(str(exc).split())[:300]}")
    return Outcome(case, True)


def _graph_from(value: Any) -> Any:
    """An rdflib Graph from what SPARQLWrapper's convert() returned for a graph query."""
    from rdflib import Graph

    if isinstance(value, Graph):
        return value
    if isinstance(value, bytes):
        value = value.decode("utf-8")
    if isinstance(value, str):
        text = value.lstrip()
        fmt = "json-ld" if text.startswith(("{", "[")) else "turtle"
        return Graph().parse(data=value, format=fmt)
    if isinstance(value, dict | list):
        return Graph().parse(data=json.dumps(value), format="json-ld")
    raise AssertionError(f"unexpected graph answer {type(value).__name__}")


def _check_answer(query_type: str, value: Any) -> None:
    """Assert that a converted SPARQLWrapper answer holds the expected content."""
    from rdflib import URIRef

    if query_type in ("CONSTRUCT", "DESCRIBE"):
        graph = _graph_from(value)
        assert (URIRef(IL6), URIRef(BINDS), URIRef(IL6R)) in graph, "expected triple missing"
        return
    if hasattr(value, "toxml"):  # xml.dom.minidom.Document
        text = value.toxml()
    elif isinstance(value, bytes):
        text = value.decode("utf-8")
    elif isinstance(value, dict | list):
        text = json.dumps(value)
    else:
        text = str(value)
    expected = "true" if query_type == "ASK" else IL6
    assert expected in text, f"{expected!r} not in the answer: {text[:200]!r}"


# ------------------------------------------------------------------------------ SPARQLWrapper

#: The return formats SPARQLWrapper offers that fit each query form (18 pairs, x3 methods = 54).
FITTING_FORMATS: dict[str, tuple[str, ...]] = {
    "SELECT": ("json", "xml", "csv", "tsv"),
    "ASK": ("json", "xml", "csv", "tsv"),
    "CONSTRUCT": ("xml", "turtle", "n3", "rdf+xml", "json-ld"),
    "DESCRIBE": ("xml", "turtle", "n3", "rdf+xml", "json-ld"),
}
#: Every return format SPARQLWrapper offers (its _allowedFormats), for the full 4x9x3 matrix.
ALL_FORMATS = ("json", "xml", "turtle", "n3", "rdf", "rdf+xml", "csv", "tsv", "json-ld")
METHODS = ("GET", "POST", "POSTDIRECTLY")


def sparqlwrapper_case(endpoint: str, query_type: str, fmt: str, method: str) -> Outcome:
    """One SPARQLWrapper request in default mode (no settings beyond format and method)."""
    from SPARQLWrapper import GET, POST, POSTDIRECTLY, SPARQLWrapper

    def check() -> None:
        sw = SPARQLWrapper(endpoint)
        sw.setQuery(QUERIES[query_type])
        sw.setReturnFormat(fmt)
        sw.setMethod(GET if method == "GET" else POST)
        if method == "POSTDIRECTLY":
            sw.setRequestMethod(POSTDIRECTLY)
        _check_answer(query_type, sw.queryAndConvert())

    return run_case(f"{query_type} {fmt} {method}", check)


def sparqlwrapper_suite(endpoint: str, every_format: bool = False) -> list[Outcome]:
    """The 54 fitting combinations, or all 108 (4 forms x 9 formats x 3 methods)."""
    return [
        sparqlwrapper_case(endpoint, qt, fmt, method)
        for qt, fitting in FITTING_FORMATS.items()
        for fmt in (ALL_FORMATS if every_format else fitting)
        for method in METHODS
    ]


# ------------------------------------------------------------------------------ rdflib


def rdflib_service_suite(endpoint: str) -> list[Outcome]:
    """rdflib's own SERVICE clause (it sends ``output=json``), by GET and by POST (long query)."""
    from rdflib import Graph, URIRef

    def check(padding: int) -> Callable[[], None]:
        def run() -> None:
            pad = f"# {'x' * padding}\n" if padding else ""
            q = (
                f"SELECT ?c WHERE {{ SERVICE <{endpoint}> {{ {pad}?c a <{CYTOKINE}> }} }}"
            )
            found = {row[0] for row in Graph().query(q)}  # type: ignore[index]
            assert URIRef(IL6) in found and len(found) == 3, f"got {found}"

        return run

    # Under 600 characters rdflib uses GET, beyond it a POST form.
    return [run_case("SERVICE GET", check(0)), run_case("SERVICE POST", check(700))]


def sparqlstore_suite(endpoint: str) -> list[Outcome]:
    """rdflib's SPARQLStore: every query form, triples() and a dataset, 3 methods x 2 formats."""
    from rdflib import RDFS, Graph, Literal, URIRef
    from rdflib.plugins.stores.sparqlstore import SPARQLStore

    out: list[Outcome] = []
    for method in ("GET", "POST", "POST_FORM"):
        for return_format in ("xml", "json"):
            store = SPARQLStore(endpoint, method=method, returnFormat=return_format)
            graph = Graph(store)

            def select(g: Graph = graph) -> None:
                rows = {r[0] for r in g.query(QUERIES["SELECT"])}  # type: ignore[index]
                assert URIRef(IL6) in rows and len(rows) == 3, rows

            def ask(g: Graph = graph) -> None:
                assert g.query(QUERIES["ASK"]).askAnswer is True

            def construct(g: Graph = graph, form: str = "CONSTRUCT") -> None:
                result = g.query(QUERIES[form]).graph
                assert (URIRef(IL6), URIRef(BINDS), URIRef(IL6R)) in result

            def triples(g: Graph = graph) -> None:
                labels = set(g.objects(URIRef(IL6), RDFS.label))
                assert Literal("Interleukin-6", lang="en") in labels, labels

            def dataset(s: SPARQLStore = store) -> None:
                # A graph IRI as identifier makes SPARQLStore send default-graph-uri.
                asserted = Graph(s, identifier=URIRef(ASSERTED))
                n = next(iter(asserted.query("SELECT (COUNT(*) AS ?n) WHERE { ?s a ?t }")))[0]
                assert int(n) == 6, n  # type: ignore[arg-type]

            tag = f"{method} {return_format}"
            out += [
                run_case(f"SELECT {tag}", select),
                run_case(f"ASK {tag}", ask),
                run_case(f"triples {tag}", triples),
                run_case(f"default-graph-uri {tag}", dataset),
            ]
            if return_format == "xml":
                # With returnFormat="json" SPARQLStore accepts only SPARQL JSON, even for a
                # graph query, so every server (Oxigraph too) answers 406: not a case here.
                out += [
                    run_case(f"CONSTRUCT {tag}", construct),
                    run_case(f"DESCRIBE {tag}", lambda g=graph: construct(g, "DESCRIBE")),
                ]
    return out


# ------------------------------------------------------------------------------ summary


def summarise(name: str, outcomes: list[Outcome]) -> str:
    """One line with the pass count, then each failure indented (for reports)."""
    passed = sum(o.ok for o in outcomes)
    lines = [f"{name}: {passed}/{len(outcomes)}"]
    lines += [f"    FAIL {o.case}: {o.detail}" for o in outcomes if not o.ok]
    return "\n".join(lines)


# ------------------------------------------------------------------------------ JavaScript

JS_DIR = Path(__file__).resolve().parent / "js"


def ensure_js_client() -> list[str]:
    """Install the npm client from the committed lock file if needed; return the node command.

    Raises RuntimeError (never skips) when node or npm is missing, naming what to install.
    """
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        raise RuntimeError(
            "node and npm (Node.js 18 or newer) are needed for the JavaScript client test: "
            "apt-get install nodejs npm"
        )
    if not (JS_DIR / "node_modules" / "sparql-http-client" / "package.json").is_file():
        done = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=JS_DIR, capture_output=True, text=True, timeout=300, check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"npm ci failed in {JS_DIR}: {done.stderr[-2000:]}")
    return [node, str(JS_DIR / "client.mjs")]


def js_suite(endpoint: str) -> list[Outcome]:
    """sparql-http-client's ParsingClient: 4 query forms x its 3 protocol operations."""
    done = subprocess.run(
        [*ensure_js_client(), endpoint], capture_output=True, text=True, timeout=120, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"node client failed: {done.stderr[-2000:]}")
    rows = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    return [Outcome(r["case"], bool(r["ok"]), r.get("detail", "")) for r in rows]
