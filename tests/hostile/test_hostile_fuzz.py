"""Property-based fuzzing of /sparql: every answer is well-formed or a 4xx with a message.

Queries are generated from our own vocabulary (the prefixes of ontology/context.jsonld and the
terms of the real release), then mutated, or replaced by random bytes; each is sent with a
random method, format parameter, Accept header, Content-Type and extra parameters.
"""

from __future__ import annotations

import re
import socket
import string
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlencode

import pytest
from flask import Flask
from hostile_support import (
    BASE,
    LiveServer,
    check_answer,
    context_prefixes,
    media_type,
    release_terms,
)
from hypothesis import event, given, settings
from hypothesis import strategies as st

ASSERTED = BASE + "graph/asserted"
INFERRED = BASE + "graph/inferred"
FORMAT_TOKENS = ("json", "xml", "csv", "tsv", "turtle", "jsonld", "nt", "rdfxml")
MEDIA_TYPES = (
    "application/sparql-results+json",
    "application/json",
    "application/sparql-results+xml",
    "text/csv",
    "text/tab-separated-values",
    "text/turtle",
    "application/x-turtle",
    "application/ld+json",
    "application/n-triples",
    "application/rdf+xml",
)
TABULAR_TYPES = MEDIA_TYPES[:5]
#: What a token or media type given as ``format=`` must produce, per kind of answer; a value
#: that names no format of the answer's kind leaves the choice to Accept (issue 12).
GRAPH_MEDIA = {"text/turtle", "application/ld+json", "application/n-triples",
               "application/rdf+xml"}
FORMAT_MEDIA = {
    "tabular": {
        "json": "application/sparql-results+json",
        "application/json": "application/sparql-results+json",
        "xml": "application/sparql-results+xml",
        "csv": "text/csv",
        "tsv": "text/tab-separated-values",
        **{m: m for m in TABULAR_TYPES if m != "application/json"},
    },
    "graph": {
        "json": "application/ld+json",
        "application/json": "application/ld+json",
        "xml": "application/rdf+xml",
        "turtle": "text/turtle",
        "application/x-turtle": "text/turtle",
        "jsonld": "application/ld+json",
        "nt": "application/n-triples",
        "rdfxml": "application/rdf+xml",
        **{m: m for m in GRAPH_MEDIA},
    },
}
KEYWORDS = (
    "SELECT", "ASK", "CONSTRUCT", "DESCRIBE", "WHERE", "OPTIONAL", "UNION", "FILTER", "MINUS",
    "GRAPH", "SERVICE", "FROM", "NAMED", "INSERT", "DELETE", "LOAD", "VALUES", "BIND", "LIMIT",
    "ORDER BY", "GROUP BY", "HAVING", "COUNT(*)", "a", "PREFIX", "BASE", "\\u0041",
)
PUNCTUATION = "{}()[]<>\"'#?$.;,:!^|*+/\\@_-=&%\n\t \x00"


class Vocabulary:
    """What generated queries are built from: prefixes, our terms and our predicates."""

    def __init__(self, prefixes: dict[str, str], terms: list[str], predicates: list[str]) -> None:
        """Keep the three lists."""
        self.prefixes = prefixes
        self.terms = terms
        self.predicates = predicates

    def __repr__(self) -> str:
        """Short, so that a failing example stays readable."""
        return f"Vocabulary({len(self.prefixes)} prefixes, {len(self.terms)} terms)"


@pytest.fixture(scope="module")
def vocab(hostile_release: Path) -> Vocabulary:
    """Prefixes from the published context and terms from the real release."""
    terms, predicates = release_terms(hostile_release)
    return Vocabulary(context_prefixes(), terms, predicates)


# ----------------------------------------------------------------------------- query strategies


def prefixed(vocab: Vocabulary, iri: str) -> str:
    """A prefixed name for an IRI when one of the context prefixes fits cleanly."""
    for prefix, ns in vocab.prefixes.items():
        local = iri[len(ns):]
        if iri.startswith(ns) and local and all(c.isalnum() or c == "_" for c in local):
            return f"{prefix}:{local}"
    return f"<{iri}>"


@st.composite
def rdf_term(draw: st.DrawFn, vocab: Vocabulary, position: str) -> str:
    """A subject/object: a variable, one of our IRIs, or a literal in one of its forms."""
    choice = draw(st.integers(0, 9 if position == "object" else 4))
    if choice <= 2:
        return f"?v{draw(st.integers(0, 3))}"
    if choice <= 4:
        iri = draw(st.sampled_from(vocab.terms))
        return prefixed(vocab, iri) if draw(st.booleans()) else f"<{iri}>"
    text = draw(st.text(alphabet=string.ascii_letters + " -'\"\\é", max_size=12))
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return draw(
        st.sampled_from(
            [
                f'"{escaped}"',
                f'"{escaped}"@en',
                f'"{len(text)}"^^xsd:integer',
                str(len(text)),
                "true",
                f"'''{escaped}'''",
            ]
        )
    )


@st.composite
def predicate(draw: st.DrawFn, vocab: Vocabulary) -> str:
    """A predicate: a variable, ``a``, one of ours, or a property path over ours."""
    p = prefixed(vocab, draw(st.sampled_from(vocab.predicates)))
    q = prefixed(vocab, draw(st.sampled_from(vocab.predicates)))
    return draw(
        st.sampled_from(
            [f"?v{draw(st.integers(0, 3))}", "a", p, f"^{p}", f"{p}/{q}", f"({p}|{q})",
             f"{p}+", f"{p}*", f"{p}?", f"!({p}|^{q})", f"({p}/^{p})+"]
        )
    )


@st.composite
def expression(draw: st.DrawFn, vocab: Vocabulary) -> str:
    """A FILTER/BIND expression over the pattern variables."""
    v = f"?v{draw(st.integers(0, 3))}"
    word = draw(st.text(alphabet=string.ascii_letters + ".*+?^$()[]|\\", max_size=6))
    word = word.replace("\\", "\\\\").replace('"', '\\"')
    iri = prefixed(vocab, draw(st.sampled_from(vocab.terms)))
    return draw(
        st.sampled_from(
            [
                f'regex(str({v}), "{word}", "i")',
                f'lang({v}) = "en"',
                f'contains(lcase(str({v})), "{word.lower()}")',
                f"isIRI({v})",
                f"{v} != {iri}",
                f"strlen(str({v})) > {draw(st.integers(0, 30))}",
                f"bound({v})",
                f"!bound({v}) || isLiteral({v})",
                f"{v} IN ({iri}, 1, \"x\")",
                f"datatype({v}) = xsd:integer",
            ]
        )
    )


@st.composite
def group(draw: st.DrawFn, vocab: Vocabulary, depth: int = 0) -> str:
    """A group graph pattern: triples plus optional OPTIONAL/UNION/FILTER/BIND/VALUES/MINUS."""
    triples = [
        f"{draw(rdf_term(vocab, 'subject'))} {draw(predicate(vocab))} "
        f"{draw(rdf_term(vocab, 'object'))}"
        for _ in range(draw(st.integers(1, 2)))
    ]
    parts = [" . ".join(triples)]
    for index in range(draw(st.integers(0, 2))):
        kind = draw(st.integers(0, 5))
        if kind == 0 and depth < 2:
            parts.append(f"OPTIONAL {{ {draw(group(vocab, depth + 1))} }}")
        elif kind == 1 and depth < 2:
            parts.append(
                f"{{ {draw(group(vocab, depth + 1))} }} UNION {{ {draw(group(vocab, depth + 1))} }}"
            )
        elif kind == 2:
            parts.append(f"FILTER({draw(expression(vocab))})")
        elif kind == 3:
            # A group may BIND twice: each needs a variable of its own to stay a valid query.
            parts.append(f"BIND({draw(expression(vocab))} AS ?b{depth}_{index})")
        elif kind == 4:
            parts.append(f"VALUES ?v3 {{ {prefixed(vocab, draw(st.sampled_from(vocab.terms)))} }}")
        elif kind == 5 and depth < 2:
            parts.append(f"MINUS {{ {draw(group(vocab, depth + 1))} }}")
    return " ".join(parts)


@st.composite
def valid_query(draw: st.DrawFn, vocab: Vocabulary) -> str:
    """A query built from our vocabulary, in one of the four forms, with PREFIX declarations."""
    order = draw(st.permutations(sorted(vocab.prefixes)))  # every prefix, in a random order
    head = "".join(f"PREFIX {p}: <{vocab.prefixes[p]}>\n" for p in order)
    if "xsd" not in vocab.prefixes:
        head += "PREFIX xsd: <http://www.w3.org/2001/XMLSchema#>\n"
    where = draw(group(vocab))
    limit = f" LIMIT {draw(st.integers(0, 60))}"
    form = draw(st.integers(0, 6))
    if form == 0:
        body = f"SELECT * WHERE {{ {where} }}{limit}"
    elif form == 1:
        body = f"SELECT DISTINCT ?v0 ?v1 WHERE {{ {where} }} ORDER BY ?v0{limit}"
    elif form == 2:
        body = f"SELECT ?v0 (COUNT(*) AS ?n) WHERE {{ {where} }} GROUP BY ?v0{limit}"
    elif form == 3:
        body = f"ASK {{ {where} }}"
    elif form == 4:
        body = f"CONSTRUCT {{ ?v0 ?v1 ?v2 }} WHERE {{ {where} }}{limit}"
    elif form == 5:
        body = f"DESCRIBE ?v0 WHERE {{ {where} }}{limit}"
    else:
        body = f"DESCRIBE {prefixed(vocab, draw(st.sampled_from(vocab.terms)))}"
    return head + body


@st.composite
def mutated_query(draw: st.DrawFn, vocab: Vocabulary) -> str:
    """A generated query with characters deleted, inserted, duplicated or replaced."""
    text = draw(valid_query(vocab))
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(text)))
        op = draw(st.integers(0, 4))
        if op == 0:
            text = text[:at] + text[at + draw(st.integers(1, 20)):]
        elif op == 1:
            text = text[:at] + draw(st.sampled_from(PUNCTUATION)) + text[at:]
        elif op == 2:
            text = text[:at] + f" {draw(st.sampled_from(KEYWORDS))} " + text[at:]
        elif op == 3:
            text = text[:at] + text[at:at + 30] * draw(st.integers(2, 5)) + text[at:]
        else:
            char = draw(st.characters(blacklist_categories=("Cs",)))
            text = text[:at] + char + text[at + 1:]
    return text


@st.composite
def accept_header(draw: st.DrawFn) -> str | None:
    """An Accept header: absent, a list of ranges with q-values, or junk."""
    if draw(st.integers(0, 2)) == 0:
        return None
    ranges = draw(
        st.lists(
            st.sampled_from([*MEDIA_TYPES, "*/*", "text/*", "application/*", "text/html",
                             "image/png", "*/json", "", ";", "text/csv;q=abc"]),
            min_size=1,
            max_size=4,
        )
    )
    parts = []
    for r in ranges:
        q = draw(st.sampled_from(["", ";q=0", ";q=0.5", ";q=1", ";q=2", ";q=-1", ";level=1"]))
        parts.append(r + q)
    return ", ".join(parts)


# ----------------------------------------------------------------------------- request building


@dataclass(frozen=True)
class Request:
    """One request to /sparql: method, URL parameters, body, headers."""

    method: str
    query_string: bytes
    body: bytes | None
    headers: dict[str, str]
    format_param: str | None
    accept: str | None


@st.composite
def request_for(draw: st.DrawFn, query: str | bytes) -> Request:
    """Wrap a query in a random method, parameters, format, Accept and Content-Type."""
    params: list[tuple[str, str]] = []
    fmt = draw(st.sampled_from([None] * 6 + [*FORMAT_TOKENS, *MEDIA_TYPES, "html", "JSON ",
                                "text/csv; charset=utf-8", ""]))
    if fmt is not None:
        params.append(("format", fmt))
    extras = [] if draw(st.integers(0, 2)) else draw(
        st.lists(
            st.sampled_from(
                [
                    ("default-graph-uri", ASSERTED),
                    ("default-graph-uri", INFERRED),
                    ("named-graph-uri", INFERRED),
                    ("default-graph-uri", "http://127.0.0.1:9/x"),
                    ("named-graph-uri", "file:///etc/passwd"),
                    ("query", "ASK {}"),
                    ("format", "json"),
                    ("update", "DROP ALL"),
                    ("callback", "x"),
                ]
            ),
            max_size=2,
        )
    )
    params += extras
    accept = draw(accept_header())
    headers = {"Accept": accept} if accept is not None else {}
    method = draw(st.sampled_from(["GET", "POST-form", "POST-direct"]))
    raw = query if isinstance(query, bytes) else query.encode("utf-8")
    if method == "GET":
        qs = "&".join([f"query={quote(raw)}", urlencode(params)]).strip("&").encode("ascii")
        return Request("GET", qs, None, headers, fmt, accept)
    if method == "POST-form":
        body = "&".join([f"query={quote(raw)}", urlencode(params)]).strip("&").encode("ascii")
        ctype = draw(st.sampled_from(["application/x-www-form-urlencoded",
                                      "application/x-www-form-urlencoded; charset=UTF-8",
                                      "application/x-www-form-urlencoded",
                                      "application/x-www-form-urlencoded; charset=latin-1"]))
        return Request("POST", b"", body, {**headers, "Content-Type": ctype}, fmt, accept)
    ctype = draw(st.sampled_from(["application/sparql-query",
                                  "application/sparql-query; charset=utf-8",
                                  "application/sparql-query", "text/plain",
                                  "application/sparql-update", ""]))
    if ctype:
        headers = {**headers, "Content-Type": ctype}
    return Request("POST", urlencode(params).encode("ascii"), raw, headers, fmt, accept)


def acceptable(accept: str | None, mtype: str) -> bool:
    """Whether a media type is allowed by an Accept header (a range with q > 0 matches it)."""
    if accept is None or not accept.strip():
        return True
    ranges = []
    for element in accept.split(","):
        parts = [p.strip() for p in element.split(";")]
        if "/" not in parts[0]:
            continue
        q = 1.0
        for param in parts[1:]:
            if param.startswith("q="):
                try:
                    q = float(param[2:])
                except ValueError:
                    q = 0.0
        ranges.append((parts[0].lower(), q))
    if not ranges:
        return True
    t = mtype.split("/")[0]
    aliases = {"application/sparql-results+json": {"application/json"},
               "application/ld+json": {"application/json"},
               "text/turtle": {"application/x-turtle"},
               "application/sparql-results+xml": {"application/xml", "text/xml"},
               "application/rdf+xml": {"application/xml", "text/xml"},
               "application/n-triples": {"text/plain"}}
    names = {mtype, f"{t}/*", "*/*", *aliases.get(mtype, ())}
    return any(r in names and q > 0 for r, q in ranges)


def send(app: Flask, req: Request) -> None:
    """Send one request through the test client and check the answer."""
    client = app.test_client()
    resp = client.open(
        "/sparql",
        method=req.method,
        environ_overrides={"QUERY_STRING": req.query_string.decode("latin-1")},
        data=req.body,
        headers=req.headers,
    )
    check_answer(resp.status_code, resp.headers, resp.get_data())
    event(f"{resp.status_code} {media_type(resp.headers.get('Content-Type'))}")
    if resp.status_code == 200:
        mtype = media_type(resp.headers["Content-Type"])
        fmt = (req.format_param or "").strip().lower()
        named = FORMAT_MEDIA["graph" if mtype in GRAPH_MEDIA else "tabular"]
        if fmt in named:
            assert mtype == named[fmt], (fmt, mtype)
        elif fmt.split(";")[0].strip() in named:
            assert mtype == named[fmt.split(";")[0].strip()]
        else:
            assert acceptable(req.accept, mtype), (req.accept, mtype)


# ----------------------------------------------------------------------------- the properties


@settings(max_examples=300)
@given(data=st.data())
def test_generated_queries_answer_well_formed(hostile_app: Flask, vocab: Vocabulary,
                                              data: st.DataObject) -> None:
    """Valid queries from our vocabulary, in every protocol variant: 200 well-formed or 4xx."""
    query = data.draw(valid_query(vocab))
    send(hostile_app, data.draw(request_for(query)))


@settings(max_examples=40)
@given(data=st.data())
def test_generated_queries_are_answered_200_over_get(hostile_app: Flask, vocab: Vocabulary,
                                                      data: st.DataObject) -> None:
    """A plain GET of a generated query succeeds: the generator really makes valid queries.

    A valid query may still be too costly for the time limit (a generated cross product over
    the whole graph): that is the limit's 503, never a 4xx that would mean a refused query.
    """
    query = data.draw(valid_query(vocab))
    resp = hostile_app.test_client().get("/sparql", query_string={"query": query})
    timed_out = resp.status_code == 503 and "time limit" in resp.text
    assert resp.status_code == 200 or timed_out, f"{query}\n-> {resp.text}"
    check_answer(resp.status_code, resp.headers, resp.get_data())


@settings(max_examples=300)
@given(data=st.data())
def test_mutated_queries_answer_well_formed(hostile_app: Flask, vocab: Vocabulary,
                                            data: st.DataObject) -> None:
    """Queries with random damage: never a 5xx, never a trace."""
    query = data.draw(mutated_query(vocab))
    send(hostile_app, data.draw(request_for(query)))


@settings(max_examples=200)
@given(data=st.data(), raw=st.binary(max_size=300))
def test_random_bytes_answer_4xx_or_well_formed(hostile_app: Flask, data: st.DataObject,
                                                raw: bytes) -> None:
    """Random bytes as the query (percent-encoded, form-encoded or as a direct body)."""
    send(hostile_app, data.draw(request_for(raw)))


@settings(max_examples=60)
@given(raw=st.binary(max_size=200))
def test_raw_query_strings_and_bodies(hostile_app: Flask, raw: bytes) -> None:
    """Unencoded bytes straight into the URL query string and a form body: a 4xx at worst."""
    client = hostile_app.test_client()
    for resp in (
        client.get("/sparql", environ_overrides={"QUERY_STRING": raw.decode("latin-1")}),
        client.post("/sparql", data=raw, content_type="application/x-www-form-urlencoded"),
    ):
        check_answer(resp.status_code, resp.headers, resp.get_data())


# ----------------------------------------------------------------------------- real HTTP, raw


def raw_exchange(server: LiveServer, data: bytes, timeout: float = 10.0) -> bytes:
    """Send bytes to the live server, half-close, and read whatever comes back."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=timeout) as sock:
        sock.sendall(data)
        sock.shutdown(socket.SHUT_WR)
        chunks = []
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
    return b"".join(chunks)


@st.composite
def http_request_bytes(draw: st.DrawFn) -> bytes:
    """An HTTP/1.1 request whose request line, headers and body are partly random."""
    method = draw(st.sampled_from([b"GET", b"POST", b"PUT", b"get", b"\x00", b"GET GET"]))
    target = draw(st.sampled_from([b"/sparql?query=ASK%7B%7D", b"/sparql", b"/", b"*",
                                   b"/%2e%2e/%2e%2e/etc/passwd", b"/sparql?query=%FF"]))
    target += draw(st.binary(max_size=30)).replace(b"\r", b"").replace(b"\n", b"")
    version = draw(st.sampled_from([b"HTTP/1.1", b"HTTP/1.0", b"HTTP/9.9", b"", b"HTTP/1.1x"]))
    headers = draw(st.lists(st.sampled_from([
        b"Host: 127.0.0.1", b"Accept: text/csv", b"Content-Type: application/sparql-query",
        b"Content-Length: 5", b"Content-Length: -1", b"Content-Length: 99999999999",
        b"Transfer-Encoding: chunked", b"X: \x01\x02", b"Bad Header", b": empty",
        b"Accept: " + b"a/b," * 500,
    ]), max_size=4))
    body = draw(st.binary(max_size=40))
    return method + b" " + target + b" " + version + b"\r\n" + b"\r\n".join(headers) \
        + b"\r\n\r\n" + body


@settings(max_examples=40)
@given(data=http_request_bytes())
def test_malformed_http_never_gets_a_5xx(live: LiveServer, data: bytes) -> None:
    """Garbage at the HTTP layer of the real server: a 4xx (or a closed connection), no trace."""
    answer = raw_exchange(live, data)
    for status_line in [line for line in answer.split(b"\r\n") if line.startswith(b"HTTP/1.")]:
        status = int(status_line.split()[1])
        assert status < 500, (data, answer[:300])
    from hostile_support import assert_no_leak

    assert_no_leak(answer)
    assert not re.search(rb"(?im)^server:[^\r\n]*\d", answer)  # never a server version
