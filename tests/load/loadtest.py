"""Bounded load test: N concurrent clients mix the competency queries against a real server.

Run from the repository root (not part of the pytest run)::

    .venv/bin/python tests/load/loadtest.py --clients 32 --duration 30
    .venv/bin/python tests/load/loadtest.py --url http://127.0.0.1:8000   # an existing server

Without ``--url`` it serves RELEASE (default build/) with ``python -m server.run`` on a free
127.0.0.1 port in its own process group, and stops it afterwards. Exit status 1 if any request
failed (a transport error or a status other than 200).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parents[2]
ACCEPTS = (
    "application/sparql-results+json",
    "text/csv",
    "text/tab-separated-values",
    "application/sparql-results+xml",
)


@dataclass
class Tally:
    """Latencies and failures per query name, shared by all client threads under a lock."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    latencies: dict[str, list[float]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    def add(self, name: str, seconds: float, error: str | None) -> None:
        """Record one request."""
        with self.lock:
            self.latencies.setdefault(name, []).append(seconds)
            if error:
                self.errors.append(f"{name}: {error}")


def competency_queries(folder: Path) -> dict[str, str]:
    """Every ``NN-name.rq`` of the queries folder, by name."""
    return {p.stem: p.read_text(encoding="utf-8") for p in sorted(folder.glob("*.rq"))}


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def served(release: Path, workers: int, threads: int, log: Path) -> Iterator[str]:
    """Start ``python -m server.run`` in its own process group; always stop the whole group."""
    port = free_port()
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "server.run", str(release), "--port", str(port),
             "--workers", str(workers), "--threads", str(threads)],
            cwd=REPO, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 120
            while True:
                if proc.poll() is not None:
                    raise SystemExit(f"server exited early:\n{log.read_text()}")
                with contextlib.suppress(requests.RequestException):
                    if requests.get(base + "/health", timeout=1).ok:
                        break
                if time.monotonic() > deadline:
                    raise SystemExit("server did not start in 120 s")
                time.sleep(0.2)
            yield base
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)


def client(base: str, queries: dict[str, str], until: float, tally: Tally, seed: int,
           unique: bool) -> None:
    """One client: a keep-alive session sending random competency queries until ``until``."""
    rng = random.Random(seed)
    names = sorted(queries)
    with requests.Session() as session:
        while time.monotonic() < until:
            name = rng.choice(names)
            query = queries[name]
            if unique:  # defeat any result cache: measure the engine, not the cache
                query = f"# {uuid.uuid4()}\n{query}"
            headers = {"Accept": rng.choice(ACCEPTS)}
            started = time.monotonic()
            error = None
            try:
                if rng.random() < 0.5:
                    r = session.get(base + "/sparql", params={"query": query}, headers=headers,
                                    timeout=60)
                else:
                    r = session.post(base + "/sparql", data=query.encode(),
                                     headers={**headers, "Content-Type":
                                              "application/sparql-query"}, timeout=60)
                if r.status_code != 200:
                    error = f"HTTP {r.status_code}: {r.text[:120]}"
            except requests.RequestException as exc:
                error = f"{type(exc).__name__}: {exc}"
            tally.add(name, time.monotonic() - started, error)


def percentile(values: list[float], fraction: float) -> float:
    """The nearest-rank percentile of a non-empty list."""
    ordered = sorted(values)
    index = max(0, min(len(ordered) - 1, round(fraction * len(ordered) + 0.5) - 1))
    return ordered[index]


def report(tally: Tally, clients: int, elapsed: float, per_query: bool) -> str:
    """The result table: totals, then (optionally) one line per query."""
    everything = [x for values in tally.latencies.values() for x in values]
    lines = [
        f"{'clients':>7} {'seconds':>7} {'requests':>8} {'errors':>6} {'req/s':>8} "
        f"{'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8} {'max ms':>8}",
        f"{clients:>7} {elapsed:>7.1f} {len(everything):>8} {len(tally.errors):>6} "
        f"{len(everything) / elapsed:>8.1f} {percentile(everything, 0.5) * 1000:>8.1f} "
        f"{percentile(everything, 0.9) * 1000:>8.1f} {percentile(everything, 0.99) * 1000:>8.1f} "
        f"{max(everything) * 1000:>8.1f}",
    ]
    if per_query:
        lines += ["", f"{'query':<44} {'n':>5} {'p50 ms':>8} {'p99 ms':>8}"]
        for name, values in sorted(tally.latencies.items()):
            lines.append(f"{name[:44]:<44} {len(values):>5} "
                         f"{statistics.median(values) * 1000:>8.1f} "
                         f"{percentile(values, 0.99) * 1000:>8.1f}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Parse options, run the clients for the fixed time, print the table, exit 1 on errors."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("release", nargs="?", type=Path, default=REPO / "build")
    parser.add_argument("--url", help="an already running server (else one is started)")
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--duration", type=float, default=30.0, help="seconds (default 30)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--queries", type=Path, default=REPO / "queries")
    parser.add_argument("--unique", action="store_true",
                        help="make every query text unique so no result cache can answer")
    parser.add_argument("--per-query", action="store_true", help="also print one line per query")
    parser.add_argument("--log", type=Path, default=Path("/tmp/cytokg-loadtest-server.log"))
    args = parser.parse_args(argv)
    if args.clients < 1 or not 0 < args.duration <= 600:
        parser.error("--clients must be >= 1 and --duration in (0, 600]")
    queries = competency_queries(args.queries)
    if not queries:
        parser.error(f"no .rq files in {args.queries}")
    with contextlib.ExitStack() as stack:
        base = args.url or stack.enter_context(
            served(args.release, args.workers, args.threads, args.log))
        tally = Tally()
        started = time.monotonic()
        until = started + args.duration
        threads = [
            threading.Thread(target=client, args=(base, queries, until, tally, i, args.unique))
            for i in range(args.clients)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=args.duration + 90)
        elapsed = time.monotonic() - started
    print(f"{len(queries)} competency queries, {'unique texts' if args.unique else 'as written'}"
          f", server {args.url or f'{args.workers} workers x {args.threads} threads'}")
    print(report(tally, args.clients, elapsed, args.per_query))
    for line in tally.errors[:10]:
        print("error:", line, file=sys.stderr)
    return 1 if tally.errors else 0


if __name__ == "__main__":
    sys.exit(main())
