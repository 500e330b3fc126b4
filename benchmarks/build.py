"""Build timings: each stage of `cytokg build`, per reasoner engine, at several sizes of our graph.

Every cell is a fresh `cytokg build --force` in its own process (so peak memory is that build's
own: the process's, and the largest of its child processes'), on a synthetic project made by
`benchmarks.synthetic` at the given scale, bounded by a time limit; a cell over the limit is
reported as a time-out rather than waited for. Validation runs beside reasoning, so the
validate and reason times overlap; the total is the wall time.

    .venv/bin/python -m benchmarks.build --scales 1,10 --engines reasonable,owlrl

`--cache` measures the stage cache instead, on a scratch copy of our project, side by side in
one run: a cold build (`--force --no-cache`), a warm one (`--force`, every input unchanged)
and a forced build after one data table was edited (a definition changed: an annotation, so
the closure is reused; and a statement row removed: a fact, so reasoning reruns), each the
median of `--runs` runs (every edit a different one, so each run misses the release entry).

    .venv/bin/python -m benchmarks.build --cache --runs 3
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.synthetic import generate

ROOT = Path(__file__).resolve().parents[1]
STAGE = re.compile(r"^(load|validate|reason|release)\s+(.*)\((\d+\.\d+) s\)$")
TRIPLES = re.compile(r"^load\s+(\d+) asserted triples")
# Runs the real CLI and reports the peak resident memory of the process and of the largest of
# the child processes it ran (validation, JSON-LD and pyLODE run in children) afterwards.
RUNNER = ("import resource, sys; from kg.cli import main; code = main(sys.argv[1:]); "
          "me, kids = (resource.getrusage(w) for w in (resource.RUSAGE_SELF, "
          "resource.RUSAGE_CHILDREN)); "
          "print('peak-kb', me.ru_maxrss, file=sys.stderr);"
          " print('child-peak-kb', kids.ru_maxrss, file=sys.stderr); "
          "print('cpu-s', me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime, "
          "file=sys.stderr); sys.exit(code)")
CACHE_EVENT = re.compile(r"\b(validation|closure|derivations|docs|JSON-LD|release) reused\b")


def run_cell(project: Path, out: Path, engine: str, limit: float,
             options: tuple[str, ...] = ("--no-cache",)) -> dict:
    """Build one project with one engine and read the stage lines and peak memory it prints.

    The stage cache is off unless `options` says otherwise: these cells measure the work.
    """
    start = time.perf_counter()
    try:
        child = subprocess.run(
            [sys.executable, "-c", RUNNER, "--root", str(project), "--out", str(out), "build",
             "--force", "--reasoner", engine, *options],
            capture_output=True, text=True, timeout=limit, check=False)
    except subprocess.TimeoutExpired:
        return {"engine": engine, "status": f"time-out after {limit:g} s"}
    cell: dict = {"engine": engine, "total_s": round(time.perf_counter() - start, 2),
                  "status": "ok" if child.returncode == 0 else last_error(child.stderr)}
    for line in child.stderr.splitlines():
        if match := STAGE.match(line.strip()):
            cell[f"{match.group(1)}_s"] = float(match.group(3))
        if match := TRIPLES.match(line.strip()):
            cell["asserted"] = int(match.group(1))
        if line.startswith("peak-kb"):
            cell["peak_mb"] = round(int(line.split()[1]) / 1024)
        if line.startswith("child-peak-kb"):
            cell["child_peak_mb"] = round(int(line.split()[1]) / 1024)
        if line.startswith("cpu-s"):
            cell["cpu_s"] = round(float(line.split()[1]), 2)
    cell["reused"] = sorted(set(CACHE_EVENT.findall(child.stderr)))
    return cell


def last_error(stderr: str) -> str:
    """The build's error line, the one a failed cell reports."""
    lines = [line for line in stderr.splitlines() if line.startswith("cytokg: error")]
    return (lines or stderr.strip().splitlines()[-1:] or ["failed"])[-1][:200]


def table(cells: list[dict]) -> str:
    """Render the cells as a text table."""
    head = ["scale", "engine", "asserted", "load s", "validate s", "reason s", "release s",
            "total s", "peak MB", "child peak MB", "status"]
    rows = [[str(c.get(k, "")) for k in ("scale", "engine", "asserted", "load_s", "validate_s",
                                          "reason_s", "release_s", "total_s", "peak_mb",
                                          "child_peak_mb", "status")] for c in cells]
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(head)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(head, widths, strict=True)),
             "  ".join("-" * w for w in widths)]
    lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)) for r in rows]
    return "\n".join(lines)


def scratch_copy(source: Path, destination: Path) -> Path:
    """Copy a project's sources, checks and queries, so that the edits never touch it."""
    shutil.copytree(source / "ontology", destination / "ontology")
    shutil.copytree(source / "queries", destination / "queries")
    return destination


def edit_definition(project: Path, run: int) -> None:
    """Change the definition of one entity in one data table (a different text each run)."""
    table = project / "ontology" / "data" / "cells.tsv"
    lines = table.read_text(encoding="utf-8").split("\n")
    column = lines[0].split("\t").index("definition")
    cells = lines[1].split("\t")
    cells[column] = cells[column].rstrip(".") + f", as revised in edit {run + 1}."
    lines[1] = "\t".join(cells)
    table.write_text("\n".join(lines), encoding="utf-8")


def remove_fact(project: Path, run: int) -> None:
    """Remove one statement row of one data table (a different row each run)."""
    table = project / "ontology" / "data" / "producers.tsv"
    lines = table.read_text(encoding="utf-8").rstrip("\n").split("\n")
    del lines[-1 - run]
    table.write_text("\n".join(lines) + "\n", encoding="utf-8")


CACHE_SCENARIOS = (("cold: --force --no-cache", None, ("--no-cache",)),
                   ("warm: --force, nothing changed", None, ()),
                   ("--force after a definition edit", edit_definition, ()),
                   ("--force after a fact removed", remove_fact, ()))


def cache_table(project: Path, scratch: Path, runs: int, limit: float) -> list[dict]:
    """Run every cache scenario `runs` times on the project; return one median row each."""
    tables = {path: path.read_bytes() for path in (project / "ontology" / "data").glob("*.tsv")}
    cache = scratch / "cache"
    samples: dict[str, list[dict]] = {name: [] for name, _, _ in CACHE_SCENARIOS}
    for run in range(runs):
        for name, edit, options in CACHE_SCENARIOS:
            for path, data in tables.items():  # every edit starts from the pristine tables
                path.write_bytes(data)
            # The cold build just before stored the release of the pristine sources: the warm
            # build reuses it, and each edit starts from it.
            if edit is not None:
                edit(project, run)
            cell = run_cell(project, scratch / "out", "reasonable", limit,
                            (*options, "--cache-dir", str(cache)))
            samples[name].append(cell)
            print(f"{name} run {run + 1}: {cell.get('total_s')} s wall, "
                  f"{cell.get('cpu_s')} s CPU, reused {', '.join(cell['reused']) or 'nothing'}"
                  f" ({cell['status']})", flush=True)
    rows = []
    for name, cells in samples.items():
        row: dict = {"scenario": name, "runs": len(cells),
                     "status": "; ".join(sorted({c["status"] for c in cells}))}
        for key in ("total_s", "cpu_s", "load_s", "validate_s", "reason_s", "release_s"):
            values = [c[key] for c in cells if key in c]
            row[key] = round(statistics.median(values), 2) if values else ""
        row["reused"] = ", ".join(cells[-1]["reused"]) or "nothing"
        rows.append(row)
    return rows


def render_cache_table(rows: list[dict]) -> str:
    """The cache scenarios side by side, as a Markdown table."""
    head = ["scenario", "wall s", "CPU s", "load s", "validate s", "reason s", "release s",
            "reused from the cache", "status"]
    keys = ["scenario", "total_s", "cpu_s", "load_s", "validate_s", "reason_s", "release_s",
            "reused", "status"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(str(row[k]) for k in keys) + " |" for row in rows]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Generate each scale once, build it with each engine, print the table, write JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", default="1,10", help="sizes as multiples of ours")
    parser.add_argument("--engines", default="reasonable,owlrl", help="reasoner engines")
    parser.add_argument("--limit", type=float, default=900.0, help="seconds per cell")
    parser.add_argument("--out", type=Path, default=None,
                        help="JSON results (default: build/benchmarks/build.json, or "
                             "build-cache.json with --cache)")
    parser.add_argument("--cache", action="store_true",
                        help="measure the stage cache: cold, warm and edited builds")
    parser.add_argument("--runs", type=int, default=3, help="runs per cache scenario")
    parser.add_argument("--source", type=Path, default=ROOT,
                        help="the project the cache scenarios copy (default: this one)")
    args = parser.parse_args(argv)
    if args.cache:
        with tempfile.TemporaryDirectory(prefix="cytokg-bench-cache-") as scratch:
            project = scratch_copy(args.source, Path(scratch) / "project")
            rows = cache_table(project, Path(scratch), max(args.runs, 1), args.limit)
        print()
        print(f"medians of {args.runs} runs; CPU is user+system of the build and its children")
        print(render_cache_table(rows))
        out = args.out or ROOT / "build" / "benchmarks" / "build-cache.json"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(rows, indent=2) + "\n")
        return 0
    args.out = args.out or ROOT / "build" / "benchmarks" / "build.json"
    cells = []
    with tempfile.TemporaryDirectory(prefix="cytokg-bench-") as scratch:
        for scale in (int(s) for s in args.scales.split(",")):
            project = ROOT if scale == 1 else generate(scale, Path(scratch) / f"x{scale}")
            for engine in args.engines.split(","):
                out = Path(scratch) / f"release-x{scale}-{engine}"
                cell = {"scale": scale, **run_cell(project, out, engine, args.limit)}
                cells.append(cell)
                print(table([cell]).splitlines()[-1], flush=True)
    print()
    print(table(cells))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(cells, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
