"""The uncached path side by side: our endpoint against the Oxigraph server, in one run, with wrk.

``python -m benchmarks.run --lean`` starts ours and the Oxigraph server (and, with
``--before DIR``, our server as it was, from an older ``server/`` package in DIR) with the
same release, and measures with wrk, every request a distinct query string so no cache can
answer: the light mix at 4 clients, the heavier mix at 4 clients, and the light mix at one
client (for p50).  Cells alternate between the servers, round after round, so a neighbour's
load on this shared machine falls on all of them alike; the median round is reported.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import time
from pathlib import Path
from typing import Any

from benchmarks.client import wrk_load
from benchmarks.servers import Server, running, start_ours, start_oxigraph

LABEL = "<http://www.w3.org/2000/01/rdf-schema#label>"
#: Queries that scan a class or a property, filter literals and group (tens of milliseconds
#: each in-process on our graph), added to the heavier mix.
SCAN_FILTER_GROUP: tuple[str, ...] = (
    "SELECT ?type (COUNT(?s) AS ?n) WHERE { ?s a ?type } GROUP BY ?type ORDER BY DESC(?n) LIMIT 25",
    f"SELECT ?s ?label WHERE {{ ?s {LABEL} ?label "
    'FILTER(CONTAINS(LCASE(STR(?label)), "interleukin")) } LIMIT 200',
    f"SELECT ?c (COUNT(?x) AS ?n) WHERE {{ ?x a ?c . ?x {LABEL} ?l FILTER(STRLEN(?l) > 10) }} "
    "GROUP BY ?c ORDER BY DESC(?n) LIMIT 25",
    "SELECT ?s ?a WHERE { ?s <http://www.w3.org/2004/02/skos/core#altLabel> ?a "
    'FILTER(REGEX(?a, "^IL-?[0-9]+$", "i")) }',
    "SELECT ?p (COUNT(*) AS ?n) WHERE { ?s a <https://w3id.org/cytokg/Cytokine> ; ?p ?o } "
    "GROUP BY ?p ORDER BY DESC(?n)",
    f'SELECT ?s ?l WHERE {{ ?s {LABEL} ?l FILTER(LANG(?l) = "en" && '
    'STRSTARTS(LCASE(?l), "t")) } ORDER BY ?l LIMIT 100',
    "SELECT (COUNT(DISTINCT ?s) AS ?n) WHERE { ?s a ?t "
    'FILTER(STRSTARTS(STR(?t), "https://w3id.org/cytokg/")) }',
)
#: (cell name, mix, clients, what the issue asks of ours relative to the Oxigraph server)
CELLS: tuple[tuple[str, str, int, str], ...] = (
    ("light mix, 4 clients", "light", 4, "req/s >= 0.35x"),
    ("heavier mix, 4 clients", "heavier", 4, "req/s >= 0.8x"),
    ("light mix, 1 client", "light", 1, "p50 <= 1.5x"),
)


def engine_times(release: Path, queries: dict[str, str], reps: int = 3) -> dict[str, float]:
    """Each query's best in-process time with pyoxigraph (query + JSON answer), in seconds."""
    from kg.store import open_store

    engine = open_store(release, "oxigraph", None)
    out = {}
    for name, text in queries.items():
        best = float("inf")
        for i in range(reps):
            t0 = time.perf_counter()
            result = engine.query(f"{text}\n# time {i}\n")
            if result.kind != "graph":
                result.serialize("json", 10_000)
            else:
                result.serialize("turtle", 10_000)
            best = min(best, time.perf_counter() - t0)
        out[name] = best
    return out


def mixes(release: Path, queries: dict[str, str], light_ms: float) -> dict[str, list[str]]:
    """Light: competency queries the engine answers under ``light_ms``; heavier: the rest and
    the scan/filter/group queries."""
    times = engine_times(release, queries)
    light = [queries[n] for n, t in times.items() if t * 1000 < light_ms]
    heavier = [queries[n] for n, t in times.items() if t * 1000 >= light_ms]
    return {"light": light, "heavier": heavier + list(SCAN_FILTER_GROUP)}


def main(args: argparse.Namespace, root: Path, extra: list[str], given: Path | None) -> int:
    """Run every cell for every server, round after round, and print the ratio table."""
    from benchmarks.run import ms, read_queries, table

    release = given.resolve() if given else root / "build"
    out_dir = root / "build" / "benchmarks"
    logs = out_dir / "logs"
    queries = read_queries(root / "queries")
    mix = mixes(release, queries, args.light_ms)
    print(f"lean-path run: light mix {len(mix['light'])} competency queries (under "
          f"{args.light_ms:g} ms in-process), heavier mix {len(mix['heavier'])} queries; wrk, "
          f"{args.duration:g} s per cell, {args.rounds} rounds", flush=True)
    cells: dict[str, dict[str, list[dict[str, float]]]] = {c[0]: {} for c in CELLS}
    with contextlib.ExitStack() as stack:
        servers: list[Server] = [stack.enter_context(running(
            start_ours(root, logs, extra, release=release)))]
        if args.before:
            servers.append(stack.enter_context(running(start_ours(
                root, logs, extra, release=release, code=args.before.resolve(),
                name="cytokg-before"))))
        servers.append(stack.enter_context(running(start_oxigraph(release, logs))))
        for r in range(args.rounds):
            order = servers if r % 2 == 0 else list(reversed(servers))
            for cell, which, clients, _ in CELLS:
                for s in order:
                    res = wrk_load(s.port, s.endpoint, mix[which], True, clients, args.duration,
                                   tag=f"{s.name}-{r}-{time.time_ns()}")
                    got = {"throughput": res.throughput, "p50": res.percentile(50),
                           "p99": res.percentile(99), "errors": res.errors}
                    cells[cell].setdefault(s.name, []).append(got)
                    print(f"  round {r + 1} {cell:24} {s.name:14} {res.throughput:7.0f} req/s "
                          f"p50 {ms(res.percentile(50))} ms p99 {ms(res.percentile(99))} ms "
                          f"errors {res.errors}", flush=True)
        names = [s.name for s in servers]

    def med(cell: str, name: str, key: str) -> float:
        return statistics.median(x[key] for x in cells[cell][name])

    headers = ["cell"]
    for n in names:
        headers += [f"{n} req/s", f"{n} p50 ms", f"{n} p99 ms"]
    headers += ["ours/Oxigraph req/s", "ours/Oxigraph p50", "target", "met"]
    rows = []
    for cell, _, _, target in CELLS:
        row: list[Any] = [cell]
        for n in names:
            row += [f"{med(cell, n, 'throughput'):.0f}", ms(med(cell, n, "p50")),
                    ms(med(cell, n, "p99"))]
        ratio = med(cell, "cytokg", "throughput") / max(1e-9, med(cell, "oxigraph", "throughput"))
        p50 = med(cell, "cytokg", "p50") / max(1e-9, med(cell, "oxigraph", "p50"))
        met = ratio >= 0.35 if "0.35" in target else ratio >= 0.8 if "0.8" in target else p50 <= 1.5
        row += [f"{ratio:.2f}x", f"{p50:.2f}x", target, "yes" if met else "no"]
        rows.append(row)
    print("\nUncached path (median of rounds; every request a distinct query string)\n"
          + table(headers, rows), flush=True)
    out = args.out or out_dir / "lean.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"when": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "cells": cells,
                               "light": len(mix["light"]), "heavier": len(mix["heavier"]),
                               "serve_args": extra}, indent=2, sort_keys=True), encoding="utf-8")
    print(f"wrote {out}")
    return 0


def add_arguments(ap: argparse.ArgumentParser) -> None:
    """The ``--lean`` run's own options."""
    g = ap.add_argument_group("lean-path run (--lean)")
    g.add_argument("--lean", action="store_true",
                   help="run the uncached-path comparison with the Oxigraph server instead "
                        "(--duration: seconds per cell, default 10)")
    g.add_argument("--rounds", type=int, default=3, help="rounds of every cell (default 3)")
    g.add_argument("--light-ms", type=float, default=1.0,
                   help="competency queries faster than this in-process are the light mix")
    g.add_argument("--before", type=Path, default=None,
                   help="a directory holding an older server/ package to run beside ours")
