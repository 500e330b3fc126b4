"""Serving under abuse: normal clients' throughput and latency while abusive clients hammer.

``python -m benchmarks.run --abuse`` starts each server in turn (ours, the Oxigraph server,
rdflib-endpoint, all with the same release), measures the normal clients alone, then lets
abusive clients send pathological queries (cross products, unbounded property paths, sorts
of huge intermediate results) the way real ones do: each gives up after a client-side
timeout and sends the next one, so a server that never cancels abandoned work accumulates
it.  Every window reports the normal clients' throughput, p50, p99, failed and timed-out
requests, and the server's CPU and memory (from /proc).  Only 127.0.0.1 is contacted, every
loop is bounded in time and count, and every server is stopped when its run ends.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.client import Connection, percentile, query_path
from benchmarks.servers import Server, running, start_ours, start_oxigraph, start_rdflib_endpoint

#: Queries no server should be asked to finish: each one is abandoned by its client.
PATHOLOGICAL: dict[str, str] = {
    "cross-product": "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }",
    "unbounded-path": (
        "SELECT (COUNT(*) AS ?n) WHERE { ?a (!<urn:x:none>|^!<urn:x:none>)* ?b }"
    ),
    "sort-huge": "SELECT * WHERE { ?s ?p ?o . ?a ?b ?c } ORDER BY DESC(?o) ?c LIMIT 10",
}
#: Normal requests in flight per client are one at a time; this bounds any run's requests.
MAX_REQUESTS = 2_000_000
#: Seconds under abuse per server unless ``--duration`` says otherwise.
DEFAULT_DURATION = 120.0
PAGE = os.sysconf("SC_PAGE_SIZE")
TICK = os.sysconf("SC_CLK_TCK")


# --------------------------------------------------------------------------- /proc sampling


def _children_map() -> dict[int, list[int]]:
    """Parent pid -> child pids for every process on the machine."""
    kids: dict[int, list[int]] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", encoding="ascii", errors="replace") as f:
                stat = f.read()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        kids.setdefault(ppid, []).append(int(name))
    return kids


def process_tree(root: int) -> list[int]:
    """``root`` and all its descendants that are alive now."""
    kids = _children_map()
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(kids.get(pid, []))
    return out


def _cpu_ticks(pid: int) -> int:
    """User + system time of ``pid`` and of its reaped children, in clock ticks."""
    with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return sum(int(x) for x in fields[11:15])  # utime stime cutime cstime


def _pss_kb(pid: int) -> int:
    """Proportional set size of ``pid`` (shared pages divided among their users), in KiB."""
    with open(f"/proc/{pid}/smaps_rollup", encoding="ascii") as f:
        for line in f:
            if line.startswith("Pss:"):
                return int(line.split()[1])
    return 0


@dataclass
class Sample:
    """One look at the server's processes."""

    when: float
    cpu_seconds: float
    pss_mb: float
    processes: int


def sample(root: int) -> Sample:
    """CPU seconds used so far and memory now, summed over the server's process tree."""
    ticks = pss = n = 0
    for pid in process_tree(root):
        with contextlib.suppress(OSError, ValueError, IndexError):
            ticks += _cpu_ticks(pid)
            pss += _pss_kb(pid)
            n += 1
    return Sample(time.monotonic(), ticks / TICK, pss / 1024, n)


class Sampler:
    """A thread sampling a process tree once a second until stopped."""

    def __init__(self, root: int, every: float = 1.0) -> None:
        """Sample ``root``'s tree every ``every`` seconds."""
        self.root, self.every = root, every
        self.samples: list[Sample] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.samples.append(sample(self.root))
            self._stop.wait(self.every)

    @contextlib.contextmanager
    def running(self) -> Iterator[Sampler]:
        """Sample while the block runs."""
        self._thread.start()
        try:
            yield self
        finally:
            self._stop.set()
            self._thread.join(10)
            self.samples.append(sample(self.root))


# --------------------------------------------------------------------------- clients


@dataclass
class Tally:
    """Every normal request's end time, latency and outcome, and the abusive requests sent."""

    done: list[tuple[float, float, str]] = field(default_factory=list)  # (end, seconds, outcome)
    abusive: list[tuple[float, str]] = field(default_factory=list)  # (end, outcome)


async def normal_client(port: int, endpoint: str, nxt: Callable[[], str], stop: float,
                        timeout: float, tally: Tally, budget: list[int]) -> None:
    """Send the distinct competency mix, one request at a time, until ``stop``."""
    conn = Connection(port)
    try:
        while time.monotonic() < stop and budget[0] > 0:
            budget[0] -= 1
            path = query_path(endpoint, nxt())
            t0 = time.monotonic()
            try:
                resp = await asyncio.wait_for(conn.get(path), timeout)
                outcome = "ok" if resp.status == 200 else f"http {resp.status}"
            except TimeoutError:
                outcome = "timeout"
                await conn.close()
            except (OSError, asyncio.IncompleteReadError, ValueError):
                outcome = "error"
                await conn.close()
            t1 = time.monotonic()
            tally.done.append((t1, t1 - t0, outcome))
            if outcome == "error":
                await asyncio.sleep(0.05)  # a refused connection must not spin
    finally:
        await conn.close()


async def abusive_client(port: int, endpoint: str, nxt: Callable[[], str], stop: float,
                         timeout: float, tally: Tally) -> None:
    """Send pathological queries, giving up on each after ``timeout`` s (closing the socket)."""
    for _ in range(100_000):
        if time.monotonic() >= stop:
            break
        conn = Connection(port)
        try:
            resp = await asyncio.wait_for(conn.get(query_path(endpoint, nxt())),
                                          min(timeout, max(0.01, stop - time.monotonic())))
            outcome = f"http {resp.status}"
        except TimeoutError:
            outcome = "abandoned"
        except (OSError, asyncio.IncompleteReadError, ValueError):
            outcome = "error"
        finally:
            await conn.close()  # a client that gives up goes away
        tally.abusive.append((time.monotonic(), outcome))
        if outcome == "error":
            await asyncio.sleep(0.05)


def cycle_texts(texts: list[str], tag: str) -> Callable[[], str]:
    """Every call the next query of ``texts`` with a unique comment, so no cache can help."""
    counter = itertools.count()

    def nxt() -> str:
        i = next(counter)
        return f"{texts[i % len(texts)]}\n# abuse {tag} {i}\n"

    return nxt


async def _drive(server: Server, normal: list[str], clients: int, abusers: int, seconds: float,
                 normal_timeout: float, abuse_timeout: float, tag: str) -> Tally:
    """Run ``clients`` normal and ``abusers`` abusive clients for ``seconds``."""
    tally = Tally()
    stop = time.monotonic() + seconds
    budget = [MAX_REQUESTS]
    nxt = cycle_texts(normal, f"{tag}-n")
    bad = cycle_texts(list(PATHOLOGICAL.values()), f"{tag}-a")
    tasks = [normal_client(server.port, server.endpoint, nxt, stop, normal_timeout, tally, budget)
             for _ in range(clients)]
    tasks += [abusive_client(server.port, server.endpoint, bad, stop, abuse_timeout, tally)
              for _ in range(abusers)]
    await asyncio.gather(*tasks)
    return tally


# --------------------------------------------------------------------------- windows


def window_rows(tally: Tally, samples: list[Sample], start: float, seconds: float,
                window: float) -> list[dict[str, Any]]:
    """Per-window figures: normal throughput, p50/p99, failures, abusive sent, CPU, memory."""
    rows = []
    n = max(1, round(seconds / window))
    for k in range(n):
        lo, hi = start + k * window, start + min(seconds, (k + 1) * window)
        done = [(took, outcome) for end, took, outcome in tally.done if lo <= end < hi]
        ok = [took for took, outcome in done if outcome == "ok"]
        inside = [s for s in samples if lo - 1.5 <= s.when <= hi + 1.5]
        cpu = 0.0
        if len(inside) >= 2:  # a process that died takes its counters along: skip that drop
            used = sum(max(0.0, b.cpu_seconds - a.cpu_seconds)
                       for a, b in itertools.pairwise(inside))
            cpu = used / max(1e-9, inside[-1].when - inside[0].when)
        rows.append({
            "window": f"{k * window:g}-{min(seconds, (k + 1) * window):g} s",
            "throughput": len(ok) / (hi - lo),
            "p50": percentile(ok, 50),
            "p99": percentile(ok, 99),
            "failed": sum(1 for _, o in done if o not in ("ok", "timeout")),
            "timed_out": sum(1 for _, o in done if o == "timeout"),
            "abusive_sent": sum(1 for end, _ in tally.abusive if lo <= end < hi),
            "cpu_percent": 100 * cpu,
            "peak_pss_mb": max((s.pss_mb for s in inside), default=0.0),
            "processes": max((s.processes for s in inside), default=0),
        })
    return rows


def run_server(server: Server, normal: list[str], args: argparse.Namespace) -> dict[str, Any]:
    """Undisturbed baseline, then the abuse run, with the server's tree sampled throughout."""
    tag = f"{server.name}-{time.time_ns()}"
    sampler = Sampler(server.proc.pid)
    with sampler.running():
        # Warm up (executors started, code paths touched), then the undisturbed baseline.
        asyncio.run(_drive(server, normal, args.normal_clients, 0, 2.0, args.normal_timeout,
                           args.abuse_timeout, tag + "-warm"))
        t0 = time.monotonic()
        base = asyncio.run(_drive(server, normal, args.normal_clients, 0, args.baseline,
                                  args.normal_timeout, args.abuse_timeout, tag + "-base"))
        before = window_rows(base, sampler.samples, t0, args.baseline, args.baseline)[0]
        t1 = time.monotonic()
        tally = asyncio.run(_drive(server, normal, args.normal_clients, args.abusive_clients,
                                   args.duration, args.normal_timeout, args.abuse_timeout,
                                   tag + "-abuse"))
        alive = server.proc.poll() is None
        # Undisturbed again once the abusive clients stop, so a neighbour's load on this shared
        # machine during either measurement weighs half; the figure is the mean of both (the
        # first alone if the server did not survive).
        after = before
        if alive:
            time.sleep(min(args.abuse_timeout, 3.0))
            t2 = time.monotonic()
            base2 = asyncio.run(_drive(server, normal, args.normal_clients, 0, args.baseline,
                                       args.normal_timeout, args.abuse_timeout, tag + "-base2"))
            after = window_rows(base2, sampler.samples, t2, args.baseline, args.baseline)[0]
    undisturbed = {k: (before[k] + after[k]) / 2 if isinstance(before[k], float) else before[k]
                   for k in before}
    undisturbed["window"] = "undisturbed"
    undisturbed["before_after_throughput"] = [before["throughput"], after["throughput"]]
    windows = window_rows(tally, sampler.samples, t1, args.duration, args.window)
    outcomes: dict[str, int] = {}
    for _, outcome in tally.abusive:
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    return {"undisturbed": undisturbed, "windows": windows, "abusive_outcomes": outcomes,
            "alive_at_end": alive}


def ms(seconds: float) -> str:
    """Seconds as milliseconds for tables."""
    return f"{seconds * 1000:.1f}"


def render(name: str, result: dict[str, Any]) -> str:
    """One Markdown table per server: the undisturbed row, then every window."""
    head = ("| server | window | normal req/s | p50 ms | p99 ms | failed | timed out "
            "| abusive sent | server CPU % | peak PSS MB | processes |\n"
            "|---|---|---|---|---|---|---|---|---|---|---|")
    lines = [head]
    for row in [result["undisturbed"], *result["windows"]]:
        lines.append(
            f"| {name} | {row['window']} | {row['throughput']:.0f} | {ms(row['p50'])} "
            f"| {ms(row['p99'])} | {row['failed']} | {row['timed_out']} | {row['abusive_sent']} "
            f"| {row['cpu_percent']:.0f} | {row['peak_pss_mb']:.0f} | {row['processes']} |"
        )
    return "\n".join(lines)


def verdict(results: dict[str, dict[str, Any]], ours: str) -> list[str]:
    """The issue's targets for our server, each as a line saying met or not."""
    mine = results[ours]
    base = mine["undisturbed"]["throughput"]
    wins = mine["windows"]
    lines = []
    half = all(w["throughput"] >= base / 2 for w in wins)
    lines.append(f"{'MET' if half else 'NOT MET'}: every window >= half the undisturbed "
                 f"{base:.0f} req/s (lowest {min(w['throughput'] for w in wins):.0f})")
    fast = all(w["p99"] < 0.1 for w in wins)
    lines.append(f"{'MET' if fast else 'NOT MET'}: p99 < 100 ms in every window "
                 f"(highest {ms(max(w['p99'] for w in wins))} ms)")
    first, last = wins[0]["peak_pss_mb"], max(w["peak_pss_mb"] for w in wins)
    bounded = last <= 1.5 * max(first, mine["undisturbed"]["peak_pss_mb"]) + 100
    lines.append(f"{'MET' if bounded else 'NOT MET'}: bounded memory (peak PSS "
                 f"{mine['undisturbed']['peak_pss_mb']:.0f} MB undisturbed, {last:.0f} MB worst)")
    for name, other in results.items():
        if name == ours:
            continue
        theirs = other["windows"][-1]["throughput"]
        ratio = wins[-1]["throughput"] / theirs if theirs else float("inf")
        lines.append(f"{'MET' if ratio >= 5 else 'NOT MET'}: last window {ratio:.1f}x {name}'s "
                     f"normal throughput ({wins[-1]['throughput']:.0f} vs {theirs:.0f} req/s)")
    return lines


def main(args: argparse.Namespace, root: Path, extra: list[str],
         given: Path | None = None) -> int:
    """Run the abuse benchmark for every server and print the tables and the verdict."""
    from benchmarks.run import read_queries  # run.py imports this module for --abuse

    release = given.resolve() if given else root / "build"
    out_dir = root / "build" / "benchmarks"
    logs = out_dir / "logs"
    normal = list(read_queries(root / "queries").values())
    starts: list[tuple[str, Callable[[], Server]]] = [
        ("cytokg", lambda: start_ours(root, logs, extra, release=given)),
    ]
    if not args.no_peers:
        cap = args.peer_memory_cap
        starts.append(("oxigraph", lambda: start_oxigraph(release, logs, memory_cap=cap)))
        if not args.no_rdflib:
            starts.append(("rdflib-endpoint",
                           lambda: start_rdflib_endpoint(release, logs, memory_cap=cap)))
    print(f"abuse run: {args.normal_clients} normal clients (distinct mix of {len(normal)} "
          f"competency queries, give up after {args.normal_timeout:g} s), {args.abusive_clients} "
          f"abusive clients ({', '.join(PATHOLOGICAL)}; give up after {args.abuse_timeout:g} s); "
          f"{args.baseline:g} s undisturbed, {args.duration:g} s under abuse, {args.baseline:g} s "
          "undisturbed again per server; "
          f"{os.cpu_count()} CPUs", flush=True)
    results: dict[str, dict[str, Any]] = {}
    for name, start in starts:
        with running(start()) as server:
            results[name] = run_server(server, normal, args)
        before, after = results[name]["undisturbed"]["before_after_throughput"]
        print(f"\n{render(name, results[name])}\nundisturbed: {before:.0f} req/s before, "
              f"{after:.0f} after; abusive requests: {results[name]['abusive_outcomes']}; "
              f"server alive at the end: {results[name]['alive_at_end']}", flush=True)
    print()
    lines = verdict(results, "cytokg")
    print("\n".join(lines))
    out = args.out or out_dir / "abuse.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    report = {"when": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "cpus": os.cpu_count(),
              "serve_args": extra, "settings": {k: str(v) for k, v in vars(args).items()},
              "results": results, "verdict": lines}
    out.write_text(json.dumps(report, indent=2, sort_keys=True), encoding="utf-8")
    print(f"wrote {out}")
    return 0


def add_arguments(ap: argparse.ArgumentParser) -> None:
    """The ``--abuse`` run's own options."""
    g = ap.add_argument_group("abuse run (--abuse)")
    g.add_argument("--abuse", action="store_true",
                   help="run the abuse benchmark instead (--duration: seconds under abuse per "
                        f"server, default {DEFAULT_DURATION:g})")
    g.add_argument("--window", type=float, default=30.0, help="seconds per reported window")
    g.add_argument("--baseline", type=float, default=20.0,
                   help="seconds of undisturbed load before the abuse (default 20)")
    g.add_argument("--normal-clients", type=int, default=4, help="normal clients (default 4)")
    g.add_argument("--abusive-clients", type=int, default=2, help="abusive clients (default 2)")
    g.add_argument("--normal-timeout", type=float, default=5.0,
                   help="seconds a normal client waits before counting a time-out (default 5)")
    g.add_argument("--abuse-timeout", type=float, default=3.0,
                   help="seconds an abusive client waits before giving up (default 3)")
    g.add_argument("--peer-memory-cap", type=int, default=8 << 30,
                   help="address-space cap on the peers' processes, so an abused peer cannot "
                        "take the machine's memory (default 8 GiB; 0 for none)")
