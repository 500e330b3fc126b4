"""The lean uncached path gives exactly what the Flask view gives, and its parsers agree with
the exact ones they stand in for."""

from __future__ import annotations

import random
import time
from pathlib import Path
from urllib.parse import parse_qsl, quote

import pytest

from server import create_app, guard, runtime
from server.limits import ExecutorPool, Job
from server.sparql import fast_params

REPO = Path(__file__).resolve().parents[2]
QUERIES = [
    "SELECT ?c WHERE { ?c a <https://w3id.org/cytokg/Cytokine> } ORDER BY ?c LIMIT 5",
    "ASK { ?s ?p ?o }",
    "CONSTRUCT WHERE { ?c a <https://w3id.org/cytokg/Cytokine> } LIMIT 3",
    "DESCRIBE <https://w3id.org/cytokg/Cytokine>",
    "SELECT * WHERE { ?s ?p ?o }",  # cut at the row limit: the truncation headers
    "SELEC nonsense",  # a parse error found by the executor: 400 from the executor's reply
    'SELECT ?l WHERE { ?s <http://www.w3.org/2000/01/rdf-schema#label> ?l FILTER(?l = "é€") }',
    "SELECT ?s WHERE { ?s <relative> ?o }",  # a relative IRI: the route leaves it to Flask
    "INSERT DATA { <urn:a> <urn:b> <urn:c> }",  # an update: refused
]
ACCEPTS = ["application/sparql-results+json", "text/csv", "text/turtle",
           "application/sparql-results+xml", "image/png", "*/*"]


@pytest.fixture(scope="module")
def app(real_release: Path):  # type: ignore[no-untyped-def]
    """An app over the real release, without the response cache so every request runs."""
    app = create_app({"release_dir": real_release, "executors": 2, "access_log": False,
                      "cache_bytes": 0, "row_limit": 50, "queries_dir": REPO / "queries"})
    yield app
    runtime(app).pool.close()


def test_direct_route_answers_exactly_as_the_flask_view(app) -> None:  # type: ignore[no-untyped-def]
    """A GET (the direct route) and a POST form (the Flask view) give the same status,
    headers in the same order, and bytes, for answers and refusals alike."""
    client = app.test_client()
    seen = set()
    for query in QUERIES:
        for accept in ACCEPTS:
            got = client.get("/sparql", query_string={"query": query}, headers={"Accept": accept})
            want = client.post("/sparql", data={"query": query}, headers={"Accept": accept})
            assert got.status == want.status, (query, accept)
            assert list(got.headers.items()) == list(want.headers.items()), (query, accept)
            assert got.data == want.data, (query, accept)
            seen.add(got.status_code)
    assert {200, 400, 406} <= seen
    truncated = client.get("/sparql", query_string={"query": QUERIES[4]})
    assert truncated.headers["X-Result-Truncated"] == "true"
    assert truncated.headers["X-Result-Count"] == "50"


def test_requests_the_route_passes_on_keep_their_answers(app) -> None:  # type: ignore[no-untyped-def]
    """Unknown or repeated parameters, an empty query, bad escapes: Flask's refusals."""
    client = app.test_client()
    base = "/sparql?query=" + quote("ASK {}", safe="")
    r = client.get(base + "&timeout=5")
    assert r.status_code == 400 and "timeout" in r.text
    r = client.get(base + "&query=x")
    assert r.status_code == 400 and "Exactly one 'query'" in r.text
    r = client.get("/sparql?query=%20")
    assert r.status_code == 400 and "empty" in r.text
    r = client.get("/sparql?query=%FF")
    assert r.status_code == 400 and "UTF-8" in r.text
    r = client.get(base + "&format=nonsense")
    assert r.status_code == 400 and "Unknown format" in r.text
    r = client.get(base + "&default-graph-uri=" + quote("http://example.org/g", safe=""))
    assert r.status_code == 400 and "never fetched" in r.text


def test_fast_params_agree_with_parse_qsl() -> None:
    """The C percent-decoder gives parse_qsl's pairs, or steps aside (None) for the exact one."""
    rnd = random.Random(7)
    alphabet = [*"ab=&+%0123456789AaFfGz\\ ", "%E2%82%AC", "%C3", "%5C", "%25", "%0A", "\\x41"]
    cases = ["query=" + quote(p.read_text(encoding="utf-8"), safe="")
             for p in sorted((REPO / "queries").glob("*.rq"))]
    cases += ["".join(rnd.choice(alphabet) for _ in range(rnd.randint(0, 24)))
              for _ in range(20_000)]
    answered = 0
    for raw in cases:
        got = fast_params(raw)
        if got is None:
            continue
        answered += 1
        assert got == parse_qsl(raw, keep_blank_values=True, encoding="utf-8",
                                errors="strict"), raw
    assert answered > len(cases) // 2  # it does take the common case


def test_guard_keywords_agree_with_the_token_scan() -> None:
    """The two-pass lexer finds the words the token-by-token scan finds, and refuses alike."""
    rnd = random.Random(11)
    alphabet = [*"abSELECTWHERE{}()[]!<>'\"#?$@_:.-09 \n", "'''", '"""', "<http://x/>",
                "ex:a", "_:b", "@en-GB", "FROM", "SERVICE", "é"]
    cases = [p.read_text(encoding="utf-8") for p in sorted((REPO / "queries").glob("*.rq"))]
    cases += ["".join(rnd.choice(alphabet) for _ in range(rnd.randint(0, 40)))
              for _ in range(20_000)]
    cases += ["{" * (guard.MAX_NESTING + 1), "!" * 300 + "x", "SELECT * { ?s ?p ?o } \\u0041"]

    def outcome(lexer, text: str):  # type: ignore[no-untyped-def]
        try:
            return lexer(text)
        except guard.Refused as exc:
            return ("refused", str(exc))

    for text in cases:
        assert outcome(guard.keywords, text) == outcome(guard.scan_keywords, text), text
    assert outcome(guard.keywords, "{" * (guard.MAX_NESTING + 1))[0] == "refused"


def test_pool_hand_off_keeps_every_field(app) -> None:  # type: ignore[no-untyped-def]
    """A job and its reply cross the process boundary intact (dataset, formats, row cap)."""
    rt = runtime(app)
    pool = ExecutorPool(rt.engine, 1, 256 << 20)
    try:
        job = Job("SELECT ?s WHERE { ?s ?p ?o }", rt.engine.graphs[:1], (), "csv", None, 7)
        reply = pool.run(job, time.monotonic() + 10)
        assert reply.status == 200 and reply.fmt == "csv"
        assert reply.count == 7 and reply.truncated
        assert reply.body.count(b"\r\n") == 8  # header and seven rows
        bad = pool.run(Job("SELEC", None, None, "json", None, 7),
                       time.monotonic() + 10)
        assert bad.status == 400 and "parse error" in bad.message
    finally:
        pool.close()


def test_relative_iri_check_agrees_with_the_lexer() -> None:
    """The one-pass check for scheme-less IRIs rules out no query the exact lexer flags."""
    from server.sparql import _ABSOLUTE_IRI, _IRI_LEXER, has_relative_iri

    rnd = random.Random(5)
    alphabet = [*"<>\"'#\n ab:1x{}", "<http://a/>", "<rel>", "<a:b>", "'<x>'", '"<y>"',
                "# <z>\n", "<1:x>"]
    cases = [p.read_text(encoding="utf-8") for p in sorted((REPO / "queries").glob("*.rq"))]
    cases += ["".join(rnd.choice(alphabet) for _ in range(rnd.randint(0, 20)))
              for _ in range(20_000)]
    for text in cases:
        exact = any(m.lastgroup == "iri" and not _ABSOLUTE_IRI.match(m.group())
                    for m in _IRI_LEXER.finditer(text))
        assert has_relative_iri(text) == exact, text
