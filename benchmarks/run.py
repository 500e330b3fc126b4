"""Serving benchmark: cold start, per-query latency and throughput, side by side with the peers.

``python -m benchmarks.run`` builds the release (if the sources changed), starts our
endpoint, the Oxigraph server and rdflib-endpoint on loopback with the same release,
runs the competency-query mix against each, prints tables and writes them as JSON to
``build/benchmarks/serving.json``.  Every server it starts is stopped before it exits.
The load comes from wrk (Debian package ``wrk``) when it is installed, since a Python load
client saturates before a fast server does; ``--load-client python`` uses the asyncio client.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks import abuse, lean
from benchmarks.client import LoadResult, fetch, load, percentile, query_path, wrk_load
from benchmarks.servers import (
    Server,
    running,
    start_ours,
    start_oxigraph,
    start_rdflib_endpoint,
    tool,
)

ROOT = Path(__file__).resolve().parents[1]


def read_queries(folder: Path) -> dict[str, str]:
    """The competency questions ``NN-name.rq`` by name."""
    return {p.stem: p.read_text(encoding="utf-8") for p in sorted(folder.glob("*.rq"))}


def answer_size(body: bytes) -> int | bool | None:
    """Rows of a SPARQL JSON answer (or the ASK boolean), to compare servers' answers."""
    try:
        doc = json.loads(body)
    except ValueError:
        return None
    if "boolean" in doc:
        return bool(doc["boolean"])
    return len(doc.get("results", {}).get("bindings", []))


def distinct_mix(queries: list[str], tag: str) -> Callable[[], str]:
    """Every call a new query string (the mix plus a unique comment), so no cache can help."""
    counter = itertools.count()
    n = len(queries)

    def nxt() -> str:
        i = next(counter)
        return f"{queries[i % n]}\n# bench {tag} {i}\n"

    return nxt


def repeated_mix(queries: list[str]) -> Callable[[], str]:
    """The competency queries in a fixed cycle, byte for byte, so a cache may answer."""
    cycle = itertools.cycle(queries)
    return lambda: next(cycle)


def check_answers(servers: list[Server], queries: dict[str, str]) -> dict[str, dict[str, Any]]:
    """Each query's answer size on every server, so a speed-up never hides a wrong answer."""
    table: dict[str, dict[str, Any]] = {}
    for name, text in queries.items():
        row: dict[str, Any] = {}
        for s in servers:
            resp = fetch(s.port, query_path(s.endpoint, text + "\n# check\n"))
            row[s.name] = answer_size(resp.body) if resp.status == 200 else f"HTTP {resp.status}"
        table[name] = row
    return table


def load_generator(choice: str) -> str:
    """``wrk`` when asked for or found on PATH (``auto``), else the asyncio client."""
    found = shutil.which("wrk")
    if choice == "wrk" and not found:
        raise SystemExit("--load-client wrk: wrk is not on PATH (Debian: apt-get install wrk)")
    return "wrk" if choice != "python" and found else "python"


def run_load(generator: str, server: Server, texts: list[str], mix: str, clients: int,
             seconds: float) -> LoadResult:
    """One fixed-time closed-loop run of the distinct or repeated mix with ``generator``."""
    tag = f"{server.name}-{clients}-{time.time_ns()}"
    if generator == "wrk":
        return wrk_load(server.port, server.endpoint, texts, mix == "distinct", clients, seconds,
                        tag=tag)
    nxt = distinct_mix(texts, tag) if mix == "distinct" else repeated_mix(texts)
    return load(server.port, server.endpoint, nxt, clients, seconds)


def query_latency(server: Server, queries: dict[str, str], reps: int) -> dict[str, list[float]]:
    """Sequential latencies of each query (distinct strings, so uncached), in seconds."""
    out: dict[str, list[float]] = {}
    for name, text in queries.items():
        times = []
        for i in range(reps):
            path = query_path(server.endpoint, f"{text}\n# latency {server.name} {i}\n")
            t0 = time.perf_counter()
            resp = fetch(server.port, path)
            if resp.status == 200:
                times.append(time.perf_counter() - t0)
        out[name] = times
    return out


def ms(seconds: float) -> str:
    """Seconds as milliseconds for tables."""
    return f"{seconds * 1000:.2f}"


def table(headers: list[str], rows: list[list[Any]]) -> str:
    """A GitHub-flavoured Markdown table, so the output can go into the README as is."""
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def cold_start(root: Path, logs: Path, probe: str, times: int, extra: list[str],
               release: Path | None = None) -> list[float]:
    """Seconds from ``cytokg serve`` to the first answer of a competency query, ``times`` runs."""
    out = []
    for _ in range(times):
        with running(start_ours(root, logs, extra, probe=probe, release=release)) as s:
            out.append(s.started_in)
    return out


def main(argv: list[str] | None = None) -> int:
    """Run the serving benchmark and print its tables."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", type=Path, default=ROOT, help="project root (default: this repo)")
    ap.add_argument("--duration", type=float, default=None,
                    help="seconds per load run (default 5; with --abuse, seconds under abuse "
                         "per server, default 120)")
    ap.add_argument("--clients", default="1,4,16", help="concurrency levels (default 1,4,16)")
    ap.add_argument("--reps", type=int, default=20, help="repetitions per query for latency")
    ap.add_argument("--starts", type=int, default=3, help="cold starts to time")
    ap.add_argument("--no-peers", action="store_true", help="skip Oxigraph and rdflib-endpoint")
    ap.add_argument("--no-rdflib", action="store_true", help="skip rdflib-endpoint")
    ap.add_argument("--no-build", action="store_true", help="use build/ as it is")
    ap.add_argument("--release", type=Path, default=None,
                    help="serve this release as it is, without building (default: build/)")
    ap.add_argument("--serve-args", default="", help="extra arguments for cytokg serve")
    ap.add_argument("--out", type=Path, default=None, help="JSON file (default build/benchmarks/)")
    ap.add_argument("--load-client", choices=("auto", "wrk", "python"), default="auto",
                    help="load generator: wrk (C, if on PATH) or the asyncio client")
    abuse.add_arguments(ap)
    lean.add_arguments(ap)
    args = ap.parse_args(argv)

    root = args.root.resolve()
    if args.abuse:
        if args.duration is None:
            args.duration = abuse.DEFAULT_DURATION
        if not args.no_build and args.release is None:
            subprocess.run([tool("cytokg"), "--root", str(root), "build"], check=True)
        return abuse.main(args, root, args.serve_args.split(), args.release)
    if args.lean:
        if args.duration is None:
            args.duration = 10.0
        if not args.no_build and args.release is None:
            subprocess.run([tool("cytokg"), "--root", str(root), "build"], check=True)
        return lean.main(args, root, args.serve_args.split(), args.release)
    if args.duration is None:
        args.duration = 5.0
    release = args.release.resolve() if args.release else root / "build"
    out_dir = root / "build" / "benchmarks"
    logs = out_dir / "logs"
    clients = [int(c) for c in args.clients.split(",") if c]
    generator = load_generator(args.load_client)
    extra = args.serve_args.split()
    if not args.no_build and args.release is None:
        subprocess.run([tool("cytokg"), "--root", str(root), "build"], check=True)
    manifest = json.loads((release / "manifest.json").read_text(encoding="utf-8"))
    queries = read_queries(root / "queries")
    texts = list(queries.values())
    report: dict[str, Any] = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "platform": platform.platform()},
        "graph": manifest["counts"],
        "queries": len(queries),
        "duration": args.duration,
        "serve_args": extra,
        "load_client": generator,
    }
    counts = manifest["counts"]
    print(f"graph: {counts['asserted']} asserted + {counts['inferred']} inferred = "
          f"{counts['full']} triples; {len(queries)} competency queries; "
          f"{os.cpu_count()} CPUs; load from {generator}", flush=True)

    starts = cold_start(root, logs, texts[0], args.starts, extra, args.release)
    report["cold_start"] = starts
    median = sorted(starts)[len(starts) // 2]
    print(f"cold start (cytokg serve -> first answer): median {median:.2f}"
          f" s over {len(starts)} runs: {', '.join(f'{s:.2f}' for s in starts)}", flush=True)

    with contextlib.ExitStack() as stack:
        servers = [stack.enter_context(running(start_ours(root, logs, extra,
                                                          release=args.release)))]
        if not args.no_peers:
            servers.append(stack.enter_context(running(start_oxigraph(release, logs))))
            if not args.no_rdflib:
                servers.append(stack.enter_context(running(start_rdflib_endpoint(release, logs))))
        report["peer_start"] = {s.name: s.started_in for s in servers[1:]}
        answers = check_answers(servers, queries)
        report["answers"] = answers
        ours = servers[0].name
        differ = {q: row for q, row in answers.items() if len(set(map(str, row.values()))) > 1}
        print(f"answers: {len(answers) - len(differ)}/{len(answers)} queries give the same "
              "answer size on every server", flush=True)
        for q, row in differ.items():
            print(f"  differs {q}: {row}")

        lat = {s.name: query_latency(s, queries, args.reps) for s in servers[:2]}
        report["latency"] = {
            n: {q: {"p50": percentile(v, 50), "p99": percentile(v, 99)} for q, v in per.items()}
            for n, per in lat.items()
        }
        rows = []
        for q in queries:
            row = [q]
            for s in servers[:2]:
                v = lat[s.name][q]
                row += [ms(percentile(v, 50)), ms(percentile(v, 99))]
            rows.append(row)
        headers = ["query"]
        for s in servers[:2]:
            headers += [f"{s.name} p50 ms", f"{s.name} p99 ms"]
        print("\nLatency of each competency query (sequential, uncached, "
              f"{args.reps} runs each)\n" + table(headers, rows), flush=True)

        runs: dict[str, dict[str, dict[str, Any]]] = {}
        for mix in ("distinct", "repeated"):
            runs[mix] = {}
            for s in servers:
                runs[mix][s.name] = {}
                for c in clients:
                    r = run_load(generator, s, texts, mix, c, args.duration)
                    runs[mix][s.name][str(c)] = {
                        "throughput": r.throughput, "ok": r.ok, "errors": r.errors,
                        "statuses": r.statuses, "p50": r.percentile(50),
                        "p99": r.percentile(99), "seconds": r.seconds,
                    }
                    print(f"  {mix:8} {s.name:16} {c:3} clients: {r.throughput:8.0f} req/s "
                          f"p50 {ms(r.percentile(50))} ms p99 {ms(r.percentile(99))} ms "
                          f"errors {r.errors}", flush=True)
        report["throughput"] = runs

    print()
    for mix, per in runs.items():
        headers = ["clients"]
        for name in per:
            headers += [f"{name} req/s", f"{name} p99 ms"]
        peers = [n for n in per if n != ours]
        headers += [f"ours / {n} (req/s)" for n in peers]
        headers += [f"ours / {n} (p99)" for n in peers]
        rows = []
        for c in clients:
            row: list[Any] = [c]
            for name in per:
                row += [f"{per[name][str(c)]['throughput']:.0f}", ms(per[name][str(c)]["p99"])]
            mine = per[ours][str(c)]
            for n in peers:
                theirs = per[n][str(c)]["throughput"]
                row.append(f"{mine['throughput'] / theirs:.2f}x" if theirs else "-")
            for n in peers:
                theirs = per[n][str(c)]["p99"]
                row.append(f"{mine['p99'] / theirs:.2f}x" if theirs else "-")
            rows.append(row)
        title = ("every request a distinct query string (no cache can help)" if mix == "distinct"
                 else "the competency queries repeated byte for byte")
        print(f"Throughput, {mix} mix: {title}; {args.duration:g} s per cell\n"
              + table(headers, rows) + "\n", flush=True)

    out = args.out or out_dir / "serving.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2, sort_keys=True), encoding="utf-8")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
