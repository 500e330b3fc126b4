"""Median latency of each tool of ``cytokg mcp`` over stdio, through the MCP SDK's own client.

One server is started for the run (``cytokg --out RELEASE mcp --no-build``); each tool is
called once to warm up (its first call is reported apart), then N times in a row, and a table
of the first, median and 90th-percentile latencies is printed. Run:

    .venv/bin/python -m benchmarks.mcp_latency [--release build] [--calls 100]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

from mcp import Client
from mcp.client.stdio import StdioServerParameters

ROOT = Path(__file__).resolve().parent.parent
CYTOKG = Path(sys.executable).parent / "cytokg"
#: One representative call per tool.
CALLS: list[tuple[str, dict]] = [
    ("search_terms", {"query": "IL-6"}),
    ("describe_term", {"term": "cytokg:IL6"}),
    ("run_sparql", {"query": "PREFIX cytokg: <https://w3id.org/cytokg/> SELECT ?drug ?target "
                             "WHERE { ?drug cytokg:actsOn cytokg:IL6 ; cytokg:targets ?target }"}),
    ("list_examples", {"keyword": "drugs"}),
    ("run_example", {"id": "101-il23-il17-axis-drugs"}),
    ("explain", {"subject": "Ustekinumab", "predicate": "actsOn", "object": "IL23"}),
    ("find_pairs", {"gene": "IL6", "species": "human"}),
    ("find_drugs", {"term": "IL23", "approved_only": True}),
]


async def measure(release: Path, calls: int) -> list[tuple[str, float, list[float]]]:
    """Start the server, call each tool ``calls`` times after one warm-up call, and stop it."""
    params = StdioServerParameters(command=str(CYTOKG), cwd=str(ROOT),
                                   args=["--root", str(ROOT), "--out", str(release), "mcp",
                                         "--no-build"])
    rows = []
    async with Client(params, cache=None, read_timeout_seconds=60) as client:
        for name, arguments in CALLS:
            started = time.perf_counter()
            first = await client.call_tool(name, arguments)
            first_s = time.perf_counter() - started
            if first.is_error:
                raise SystemExit(f"{name} failed: {first.content[0].text}")
            times = []
            for _ in range(calls):
                started = time.perf_counter()
                result = await client.call_tool(name, arguments)
                times.append(time.perf_counter() - started)
                if result.is_error:
                    raise SystemExit(f"{name} failed: {result.content[0].text}")
            rows.append((name, first_s, times))
    return rows


def main(argv: list[str] | None = None) -> int:
    """Measure and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--release", type=Path, default=ROOT / "build")
    parser.add_argument("--calls", type=int, default=100)
    args = parser.parse_args(argv)
    rows = asyncio.run(measure(args.release.resolve(), args.calls))
    print(f"cytokg mcp over stdio, {args.calls} calls per tool after one warm-up call")
    print(f"{'tool':<15} {'first ms':>9} {'median ms':>10} {'p90 ms':>8}")
    for name, first, times in rows:
        p90 = statistics.quantiles(times, n=10)[-1]
        print(f"{name:<15} {first * 1000:>9.1f} {statistics.median(times) * 1000:>10.1f} "
              f"{p90 * 1000:>8.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
