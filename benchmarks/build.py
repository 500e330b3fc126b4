"""Build timings: each stage of `cytokg build`, per reasoner engine, at several sizes of our graph.

Every cell is a fresh `cytokg build --force` in its own process (so peak memory is that build's
own: the process's, and the largest of its child processes'), on a synthetic project made by
`benchmarks.synthetic` at the given scale, bounded by a time limit; a cell over the limit is
reported as a time-out rather than waited for. Validation runs beside reasoning, so the
validate and reason times overlap; the total is the wall time.

    .venv/bin/python -m benchmarks.build --scales 1,10 --engines reasonable,owlrl
"""

from __future__ import annotations

import argparse
import json
import re
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
          "print('peak-kb', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr);"
          " print('child-peak-kb', resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, "
          "file=sys.stderr); sys.exit(code)")


def run_cell(project: Path, out: Path, engine: str, limit: float) -> dict:
    """Build one project with one engine and read the stage lines and peak memory it prints."""
    start = time.perf_counter()
    try:
        child = subprocess.run(
            [sys.executable, "-c", RUNNER, "--root", str(project), "--out", str(out), "build",
             "--force", "--reasoner", engine],
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


def main(argv: list[str] | None = None) -> int:
    """Generate each scale once, build it with each engine, print the table, write JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", default="1,10", help="sizes as multiples of ours")
    parser.add_argument("--engines", default="reasonable,owlrl", help="reasoner engines")
    parser.add_argument("--limit", type=float, default=900.0, help="seconds per cell")
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "benchmarks" / "build.json")
    args = parser.parse_args(argv)
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
