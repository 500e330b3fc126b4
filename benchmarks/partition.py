"""Partitioned reasoning timings: partition + reasoning only, with peak memory, at a given scale.

In memory (`--scale 36`): a synthetic project (`benchmarks.synthetic`) is generated and loaded
(neither timed), then `kg.partition.closure_partitioned` is timed. Streamed (`--stream`, for
scales whose asserted graph does not fit in memory): the generated tables are split into chunk
projects of `--chunk-copies` copies (copy 0 alone first), and `kg.partition.closure_streamed`
loads and reasons each chunk in a worker, writing the inferred triples to files; load time is
then inside the workers and reported beside the total. Every cell runs in its own process, so
peak memory is that cell's: the process's and the largest of its worker processes'.

    .venv/bin/python -m benchmarks.partition --scale 36 --bin-triples 250000 --workers 2
    .venv/bin/python -m benchmarks.partition --scale 36 --monolithic
    .venv/bin/python -m benchmarks.partition --scale 360 --stream --chunk-copies 14

The generated project is kept in /tmp between runs, under a name that changes with the
generator and our ontology (`inputs_digest`), so a changed generator never reuses a stale one.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.run import table as markdown_table
from benchmarks.synthetic import generate

ROOT = Path(__file__).resolve().parents[1]
SCRATCH = Path("/tmp/partition-bench")


def data_rows(path: Path) -> list[str]:
    """The lines of a generated table after its header."""
    return path.read_text(encoding="utf-8").splitlines()[1:]


def split_project(project: Path, scale: int, copies: int, out: Path) -> list[Path]:
    """Split a generated project's tables into chunk projects: copy 0, then `copies` at a time.

    `benchmarks.synthetic` writes copy 0's rows, then the same number of rows for every
    further copy; those counts are read from projects of 1 and 2 copies.
    """
    one, two = generate(1, out / "count-x1"), generate(2, out / "count-x2")
    data = project / "ontology" / "data"
    ranges = [(0, 1)] + [(k, min(k + copies, scale)) for k in range(1, scale, copies)]
    roots = []
    for i in range(len(ranges)):
        root = out / f"chunk-{i:03d}"
        (root / "ontology" / "data").mkdir(parents=True, exist_ok=True)
        for path in (project / "ontology").iterdir():
            if path.is_file():
                (root / "ontology" / path.name).write_bytes(path.read_bytes())
        roots.append(root / "ontology")
    for table in sorted(data.glob("*.tsv")):
        n0 = len(data_rows(one / "ontology" / "data" / table.name))
        n1 = len(data_rows(two / "ontology" / "data" / table.name)) - n0
        with table.open(encoding="utf-8") as fh:
            header = fh.readline()
            lines = fh.readlines()
        if len(lines) != n0 + (scale - 1) * n1:
            raise SystemExit(f"{table.name}: {len(lines)} rows, expected {n0} + {scale - 1} x {n1}")
        for i, (first, last) in enumerate(ranges):
            start = 0 if first == 0 else n0 + (first - 1) * n1
            stop = n0 if first == 0 else n0 + (last - 1) * n1
            target = out / f"chunk-{i:03d}" / "ontology" / "data" / table.name
            target.write_text(header + "".join(lines[start:stop]), encoding="utf-8")
    return roots


def inputs_digest() -> str:
    """A short hash of what a generated project is made from: the generator and our sources."""
    digest = hashlib.sha256()
    paths = [ROOT / "benchmarks" / "synthetic.py", *sorted((ROOT / "ontology").rglob("*")),
             *sorted((ROOT / "queries" / "checks").glob("*"))]
    for path in paths:
        if path.is_file():
            digest.update(path.relative_to(ROOT).as_posix().encode() + b"\0")
            digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def cell(args: argparse.Namespace) -> dict:
    """Run one measurement in this process and return its figures (peak memory included)."""
    project = SCRATCH.with_name(f"partition-x{args.scale}-{inputs_digest()}")
    started = time.perf_counter()
    if not (project / "ontology" / "data").is_dir():
        generate(args.scale, project)
    row: dict = {"scale": args.scale, "workers": args.workers,
                 "generate_s": round(time.perf_counter() - started, 1)}
    if args.stream:
        from kg.partition import PartitionError, closure_streamed

        chunks = split_project(project, args.scale, args.chunk_copies,
                               SCRATCH.with_name(f"partition-chunks-x{args.scale}"))
        out = SCRATCH.with_name(f"partition-out-x{args.scale}")
        cpu0, wall0 = _cpu(), time.perf_counter()
        row.update(mode=f"streamed, {args.chunk_copies} copies a chunk", bins=len(chunks),
                   asserted="not held")
        try:
            result = closure_streamed(chunks, out, args.engine, args.workers)
        except PartitionError as exc:  # the checks refused the union: report how far it got
            row.update(status=f"refused: {exc.message}", problems=exc.details[:12])
        else:
            row.update(inferred=result.inferred, shared=result.shared_triples, status="ok",
                       slowest_bin_s=max(result.bin_seconds),
                       bin_s_sum=round(sum(result.bin_seconds), 1))
    elif args.monolithic:
        from kg.reason import close
        from kg.sources import load

        asserted = load(project / "ontology").triples
        row.update(asserted=len(asserted), load_s=round(time.perf_counter() - started, 1))
        cpu0, wall0 = _cpu(), time.perf_counter()
        closed = close(asserted, args.engine)
        row.update(mode="monolithic (kg.reason.close)", bins=1, status="ok",
                   inferred=closed.kept)
    else:
        from kg.partition import closure_partitioned
        from kg.sources import load

        asserted = load(project / "ontology").triples
        row.update(asserted=len(asserted), load_s=round(time.perf_counter() - started, 1))
        cpu0, wall0 = _cpu(), time.perf_counter()
        result = closure_partitioned(asserted, args.engine, args.workers, args.bin_triples)
        row.update(mode=f"in memory, {args.bin_triples} triples a bin", bins=result.bins,
                   status="ok",
                   inferred=result.kept, shared=result.core_triples,
                   slowest_bin_s=max(result.bin_seconds),
                   bin_s_sum=round(sum(result.bin_seconds), 1))
    row["wall_s"] = round(time.perf_counter() - wall0, 1)
    row["cpu_s"] = round(_cpu() - cpu0, 1)
    me, kids = (resource.getrusage(w) for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    row["main_peak_mb"] = round(me.ru_maxrss / 1024)
    row["child_peak_mb"] = round(kids.ru_maxrss / 1024)
    row["peak_mb"] = row["main_peak_mb"] + row["child_peak_mb"]
    return row


def _cpu() -> float:
    """User + system CPU seconds of this process and its finished children."""
    me, kids = (resource.getrusage(w) for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


COLUMNS = ("scale", "mode", "asserted", "bins", "inferred", "wall_s", "cpu_s", "slowest_bin_s",
           "main_peak_mb", "child_peak_mb", "peak_mb", "status")


def main(argv: list[str] | None = None) -> int:
    """Run the cell in a child process (its own peak memory), print the table, write JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=36, help="copies of our data")
    parser.add_argument("--bin-triples", type=int, default=250_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--engine", default="reasonable")
    parser.add_argument("--stream", action="store_true",
                        help="never hold the asserted graph: reason chunk projects")
    parser.add_argument("--chunk-copies", type=int, default=14)
    parser.add_argument("--monolithic", action="store_true",
                        help="reason the whole graph in one process (kg.reason.close), to compare")
    parser.add_argument("--cell", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path,
                        default=ROOT / "build" / "benchmarks" / "partition.json")
    args = parser.parse_args(argv)
    if args.cell:
        print("CELL " + json.dumps(cell(args)), flush=True)
        return 0
    child = subprocess.run([sys.executable, "-m", "benchmarks.partition", "--cell",
                            *(argv if argv is not None else sys.argv[1:])],
                           capture_output=True, text=True, check=False, cwd=ROOT)
    rows = [json.loads(line[5:]) for line in child.stdout.splitlines() if line.startswith("CELL ")]
    if child.returncode or not rows:
        print(child.stderr[-3000:], file=sys.stderr)
        return child.returncode or 1
    print(markdown_table(list(COLUMNS), [[r.get(c, "") for c in COLUMNS] for r in rows]))
    for row in rows:
        for problem in row.get("problems", []):
            print(f"  - {problem}")
    previous = json.loads(args.out.read_text()) if args.out.is_file() else []
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps([*previous, *rows], indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
