"""Resource exhaustion against the real server: every attack ends in time, others keep going.

Run with ``-s`` to see the measured figures (probe latency during each attack, peak memory).
"""

from __future__ import annotations

import socket
import statistics
import threading
import time
import uuid

import pytest
import requests
from hostile_support import (
    HEADER_TIMEOUT,
    ROW_LIMIT,
    TIME_LIMIT,
    LiveServer,
    RssSampler,
    assert_no_leak,
)

PROBE = "ASK { ?s a ?c }"
#: Every attack must end within the time limit plus this much (queueing, kill, respawn).
SLACK = 2.0
#: A simple query must stay this quick while an attack runs (2 cores, attacks use one each).
PROBE_BUDGET = 1.0


def long_path_query() -> str:
    """Zero-or-more over every predicate in both directions: all-pairs reachability."""
    return "SELECT (COUNT(*) AS ?n) WHERE { ?a (!<urn:x:none>|^!<urn:x:none>)* ?b }"


def nested_optional(depth: int = 40) -> str:
    """Forty OPTIONALs chained through variables, ordered: a huge left join."""
    inner = "".join(f"OPTIONAL {{ ?x{i} ?p{i} ?x{i + 1} " for i in range(depth)) + "}" * depth
    return f"SELECT * WHERE {{ ?x0 ?p ?o {inner} }} ORDER BY ?x{depth}"


def union_nest(width: int = 300) -> str:
    """Three hundred UNION branches of the whole graph, counted."""
    branches = " UNION ".join(f"{{ ?s ?p ?o . ?o ?q{i} ?z }}" for i in range(width))
    return f"SELECT (COUNT(*) AS ?n) WHERE {{ {branches} }}"


ATTACKS: dict[str, str] = {
    "path-over-cycles": long_path_query(),
    "path-plus-sequence": "SELECT (COUNT(*) AS ?n) WHERE { ?a (?p|^?p)+ ?b }".replace(
        "?p|^?p", "<http://www.w3.org/2000/01/rdf-schema#subClassOf>|^a"
    ),
    "cross-product": "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }",
    "optional-nest": nested_optional(),
    "union-nest": union_nest(),
    "regex-every-literal": (
        'SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?l . ?t ?q ?m FILTER(isLiteral(?l) && '
        'regex(concat(str(?l), str(?m)), "^(.*a.*)*e(.*i.*)*$", "i")) }'
    ),
    "sort-cross-product": "SELECT * WHERE { ?s ?p ?o . ?a ?b ?c } ORDER BY DESC(?o) ?c",
    "long-values": "SELECT (COUNT(*) AS ?n) WHERE { VALUES ?v { "
    + " ".join(f'"{i}"' for i in range(60_000))
    + " } ?s ?p ?o FILTER(str(?o) = ?v) }",
}


def probe_latencies(base: str, stop: threading.Event, out: list[float],
                    failures: list[str]) -> None:
    """Send the simple query again and again (unique text, so no cache helps) and time it."""
    while not stop.is_set() and len(out) < 500:
        query = f"# probe {uuid.uuid4()}\n{PROBE}"
        started = time.monotonic()
        try:
            r = requests.get(base + "/sparql", params={"query": query}, timeout=10)
        except requests.RequestException as exc:
            failures.append(f"probe: {exc}")
            continue
        out.append(time.monotonic() - started)
        if r.status_code != 200 or r.json().get("boolean") is not True:
            failures.append(f"probe: {r.status_code} {r.text[:100]}")
        time.sleep(0.05)


@pytest.mark.parametrize("name", sorted(ATTACKS))
def test_attack_ends_in_time_and_probe_stays_fast(live: LiveServer, name: str) -> None:
    """Each attack (two copies at once) ends by the time limit; a simple query stays fast."""
    query = ATTACKS[name]
    stop = threading.Event()
    latencies: list[float] = []
    failures: list[str] = []
    results: list[tuple[int, float, str]] = []

    def attack() -> None:
        started = time.monotonic()
        r = requests.post(
            live.base + "/sparql",
            data=f"# {uuid.uuid4()}\n{query}".encode(),
            headers={"Content-Type": "application/sparql-query"},
            timeout=TIME_LIMIT + 20,
        )
        results.append((r.status_code, time.monotonic() - started, r.text))

    sampler = RssSampler(live.proc.pid)
    prober = threading.Thread(target=probe_latencies, args=(live.base, stop, latencies, failures))
    attackers = [threading.Thread(target=attack) for _ in range(2)]
    with sampler.running():
        prober.start()
        time.sleep(0.2)
        for t in attackers:
            t.start()
        for t in attackers:
            t.join(timeout=TIME_LIMIT + 30)
        stop.set()
        prober.join(timeout=15)
    assert not failures, failures
    assert len(results) == 2
    for status, took, text in results:
        assert took < TIME_LIMIT + SLACK, f"{name} took {took:.2f} s"
        assert status in (200, 400, 503), (status, text[:200])
        if status == 503:  # ended by the time limit, or sooner by its process's memory cap
            assert (f"time limit of {TIME_LIMIT:g} s" in text
                    or "more memory than the limit" in text), text[:200]
        assert_no_leak(text)
    worst = max(latencies)
    print(
        f"\n[exhaustion] {name}: attack status {sorted(s for s, _, _ in results)}, "
        f"took {max(t for _, t, _ in results):.2f} s; probe n={len(latencies)} "
        f"median {statistics.median(latencies) * 1000:.0f} ms max {worst * 1000:.0f} ms; "
        f"peak PSS of all processes {sampler.peak_pss_kb / 1024:.0f} MiB, "
        f"largest single RSS {sampler.peak_single_kb / 1024:.0f} MiB"
    )
    assert worst < PROBE_BUDGET, f"simple query took {worst:.2f} s during {name}"


def test_huge_result_is_cut_at_the_row_limit(live: LiveServer) -> None:
    """A query that would return 10^9 rows is truncated at the row limit, memory stays small."""
    sampler = RssSampler(live.proc.pid)
    with sampler.running():
        started = time.monotonic()
        r = requests.get(
            live.base + "/sparql",
            params={"query": "SELECT * WHERE { ?s ?p ?o . ?a ?b ?c }", "format": "csv"},
            timeout=TIME_LIMIT + 10,
        )
        took = time.monotonic() - started
        g = requests.get(
            live.base + "/sparql",
            params={"query": "CONSTRUCT { ?s ?p ?c } WHERE { ?s ?p ?o . ?a ?b ?c }",
                    "format": "nt"},
            timeout=TIME_LIMIT + 10,
        )
    assert r.status_code == 200
    assert r.headers["X-Result-Truncated"] == "true"
    assert r.headers["X-Result-Row-Limit"] == str(ROW_LIMIT)
    assert len(r.text.strip().split("\r\n")) == ROW_LIMIT + 1
    assert g.status_code == 200
    assert g.headers["X-Result-Truncated"] == "true"
    assert len(g.text.strip().splitlines()) == ROW_LIMIT
    print(
        f"\n[exhaustion] huge result: {took:.2f} s, cut at {ROW_LIMIT} rows; peak PSS of all "
        f"processes {sampler.peak_pss_kb / 1024:.0f} MiB, largest single RSS "
        f"{sampler.peak_single_kb / 1024:.0f} MiB"
    )
    assert took < TIME_LIMIT


def test_very_long_query_strings_are_refused_or_answered(live: LiveServer) -> None:
    """Long request lines are a 414, long bodies over the limit a 413, at the limit answered."""
    long_get = requests.get(
        live.base + "/sparql", params={"query": "ASK {}" + " " * 20_000}, timeout=10
    )
    assert long_get.status_code == 414  # our GET query-string limit (8190 bytes)
    assert_no_leak(long_get.content)
    over = requests.post(
        live.base + "/sparql",
        data=b"ASK {}" + b" " * 1_000_001,
        headers={"Content-Type": "application/sparql-query"},
        timeout=10,
    )
    assert over.status_code == 413
    assert "1000000 bytes" in over.text
    under = requests.post(
        live.base + "/sparql",
        data=b"# " + b"x" * 990_000 + b"\nASK { ?s ?p ?o }",
        headers={"Content-Type": "application/sparql-query"},
        timeout=10,
    )
    assert under.status_code == 200 and under.json()["boolean"] is True


@pytest.mark.parametrize(
    "query",
    [
        "SELECT * WHERE " + "{" * 5000 + " ?s ?p ?o " + "}" * 5000,
        "ASK { FILTER(" + "(" * 5000 + "true" + ")" * 5000 + ") }",
        "ASK { FILTER(" + "!" * 50_000 + "true) }",
        "ASK { ?s ?p " + "[ ?p " * 3000 + "?o" + " ]" * 3000 + " }",
        "SELECT * WHERE { ?s ?p ?o " + "OPTIONAL { ?s ?p ?o " * 5000 + "}" * 5000 + "}",
    ],
    ids=["groups", "parentheses", "negations", "blank-node-brackets", "optionals"],
)
def test_deep_nesting_is_a_400_not_a_crash(live: LiveServer, query: str) -> None:
    """Nesting deep enough to overflow the parser's stack is refused before it reaches it."""
    r = requests.post(
        live.base + "/sparql",
        data=query.encode(),
        headers={"Content-Type": "application/sparql-query"},
        timeout=TIME_LIMIT + 10,
    )
    assert r.status_code == 400, r.text[:200]
    assert r.text == (
        "The query nests groups, brackets or parentheses more than 256 levels deep; "
        "flatten it.\n"
    )
    assert requests.get(live.base + "/sparql", params={"query": PROBE}, timeout=10).ok


def test_slow_request_heads_are_cut_off_while_others_are_served(live: LiveServer) -> None:
    """Connections that never finish their headers are closed at --header-timeout, and meanwhile
    a normal query is answered at once (a slow-header flood holds no request thread)."""
    stalled = []
    try:
        for _ in range(64):
            s = socket.create_connection(("127.0.0.1", live.port), timeout=5)
            s.sendall(b"GET /sparql?query=ASK%7B%7D HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            stalled.append(s)
        started = time.monotonic()
        probe = requests.get(live.base + "/sparql", params={"query": "ASK { ?s ?p ?o }"},
                             timeout=10)
        assert probe.status_code == 200 and time.monotonic() - started < 1.0
        ends = []
        for s in stalled:
            s.settimeout(max(0.1, started + HEADER_TIMEOUT + 10 - time.monotonic()))
            answer = s.recv(4096)  # b"" once the server closes; a 408 is fine too
            assert answer == b"" or answer.startswith(b"HTTP/1.1 408"), answer[:100]
            ends.append(time.monotonic() - started)
        print(f"\n[slow heads] {len(ends)} stalled connections closed after "
              f"{min(ends):.2f}-{max(ends):.2f} s")
        assert min(ends) > HEADER_TIMEOUT - 1.0  # not closed at once, but at the timeout
        assert max(ends) < HEADER_TIMEOUT + 10
    finally:
        for s in stalled:
            s.close()
