"""Scale benchmark: synthetic copies of our graph published into Virtuoso, served through us.

``python -m benchmarks.scale --scales 100`` builds ``benchmarks.synthetic`` projects at each
scale (or takes ``--release DIR``, an already built release), starts a throw-away
``virtuoso-t`` on loopback, publishes with ``cytokg publish``'s code (``kg.publishers.virtuoso``),
then starts ``cytokg serve --store sparql:...`` in front of it and runs the distinct
competency-question mix (each request a new query string, so no cache helps).  It prints one
table: build time and peak memory, publish time, store size on disk, Virtuoso's resident and
peak memory, and the mix's req/s, p50 and p99 with the failed requests.  Every process it
starts is stopped before it exits.
"""

from __future__ import annotations

import argparse
import contextlib
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.run import load_generator, read_queries, run_load, table
from benchmarks.servers import running, start_ours, tool
from benchmarks.virtuoso_server import VirtuosoServer

ROOT = Path(__file__).resolve().parents[1]

def status_kb(pid: int, field: str) -> int:
    """A ``/proc/PID/status`` field in kB (VmRSS, VmHWM), 0 when the process is gone."""
    with contextlib.suppress(OSError), open(f"/proc/{pid}/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def build(scale: int, work: Path) -> tuple[Path, float, float]:
    """Generate and build the synthetic project; return the release, seconds and peak MB."""
    project = work / f"x{scale}"
    if not (project / "build" / "manifest.json").is_file():
        shutil.rmtree(project, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "benchmarks.synthetic", str(scale), str(project)],
                       cwd=ROOT, check=True)
    started = time.perf_counter()
    subprocess.run([tool("cytokg"), "--root", str(project), "build"], cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL)
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return project / "build", time.perf_counter() - started, peak


NAMED_INDIVIDUAL = b"<http://www.w3.org/2002/07/owl#NamedIndividual>"
RDF_TYPE = b"<http://www.w3.org/1999/02/22-rdf-syntax-ns#type>"


def replicate(release: Path, copies: int, into: Path) -> Path:
    """A release of ``copies`` disjoint copies of ``release``'s individuals, for serving only.

    Copy k renames every individual (a subject typed owl:NamedIndividual) ``X`` to ``X_k`` and
    every blank node, and keeps the triples that name no individual and no blank node once (the
    TBox is shared), so each copy answers the questions as our graph does.  It is not
    reasoned again: it stands in for a build when only publishing and serving are measured.
    """
    import re

    into.mkdir(parents=True, exist_ok=True)
    lines = {n: (release / n).read_bytes().splitlines(keepends=True)
             for n in ("cytokg-asserted.nt", "cytokg-inferred.nt")}
    people = {line.split(b" ", 1)[0] for text in lines.values() for line in text
              if RDF_TYPE in line and line.rstrip().endswith(NAMED_INDIVIDUAL + b" .")}
    pattern = re.compile(b"(" + b"|".join(re.escape(p[:-1]) for p in people) + b")>|(_:\\w+)")
    for name, text in lines.items():
        with (into / name).open("wb") as out:
            out.writelines(text)
            for k in range(1, copies):
                tail = f"_{k}".encode()
                for line in text:
                    renamed = pattern.sub(lambda m, t=tail: m.group(1) + t + b">" if m.group(1)
                                          else m.group(2) + t, line)
                    if renamed != line:
                        out.write(renamed)
    import hashlib
    import json

    manifest = json.loads((release / "manifest.json").read_text(encoding="utf-8"))
    for name in lines:  # the server checks each file against the manifest
        data = (into / name).read_bytes()
        manifest["files"][name] = {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    (into / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    for other in release.iterdir():  # the rest of the release, which the server checks
        if other.name not in lines and not (into / other.name).exists():
            (into / other.name).symlink_to(other.resolve())
    return into


def measure(release: Path, work: Path, clients: int, seconds: float, buffers: int
            ) -> dict[str, object]:
    """Publish ``release`` into a fresh Virtuoso and run the mix through our endpoint."""
    from kg.publishers.virtuoso import publish

    server = VirtuosoServer(work / "virtuoso", [release], buffers=buffers, time_limit=15)
    try:
        sql = server.sql
        started = time.perf_counter()
        # A long Virtuoso limit: our server's start-up reads every term of the graph at once.
        counts = publish(release, sql, time_limit=300,
                         progress=lambda m: print(m, file=sys.stderr))
        published = time.perf_counter() - started
        size = sum(p.stat().st_size for p in server.root.glob("virtuoso*.db"))
        row: dict[str, object] = {
            "triples": sum(counts.values()), "publish s": round(published, 1),
            "store MB": round(size / 2**20), "virtuoso RSS MB": status_kb(server.proc.pid,
                                                                       "VmRSS") // 1024}
        texts = list(read_queries(ROOT / "queries").values())
        logs = work / "logs"
        logs.mkdir(exist_ok=True)
        extra = ["--store", f"sparql:{server.sparql}", "--time-limit", "10"]
        with running(start_ours(ROOT, logs, extra, release=release, timeout=600)) as ours:
            row["serve start s"] = round(ours.started_in, 1)
            result = run_load(load_generator("auto"), ours, texts, "distinct", clients, seconds)
        row.update({"clients": clients, "req/s": round(result.throughput, 1),
                    "p50 ms": round(result.percentile(50) * 1000, 1),
                    "p99 ms": round(result.percentile(99) * 1000, 1),
                    "failed": result.errors + sum(n for code, n in result.statuses.items()
                                                  if code != 200),
                    "virtuoso peak MB": status_kb(server.proc.pid, "VmHWM") // 1024})
        return row
    finally:
        server.stop()


def main(argv: list[str] | None = None) -> int:
    """Run each scale and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", default="100", help="comma-separated copies (default 100)")
    parser.add_argument("--release", type=Path, help="serve this built release instead")
    parser.add_argument("--copies", type=int, default=0,
                        help="with --release: serve this many renamed copies of it instead")
    parser.add_argument("--work", type=Path, default=Path("/tmp/cytokg-scale"))
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--buffers", type=int, default=200_000,
                        help="Virtuoso NumberOfBuffers (8 kB pages; default 200000 = 1.6 GB)")
    args = parser.parse_args(argv)
    rows = []
    plan = [("release", args.release)] if args.release else [
        (int(s), None) for s in args.scales.split(",")]
    for scale, given in plan:
        work = args.work / f"run-{scale}"
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        if given is None:
            release, build_s, peak = build(int(scale), args.work)
        else:
            release, build_s, peak = Path(given), 0.0, 0.0
            if args.copies > 1:
                release = replicate(release, args.copies, work / f"copies-{args.copies}")
                scale = f"{args.copies} copies"
        row = {"scale": scale, "build s": round(build_s, 1), "build peak MB": round(peak)}
        row.update(measure(release, work, args.clients, args.seconds, args.buffers))
        rows.append(row)
        shutil.rmtree(work / "virtuoso", ignore_errors=True)
    headers = list(rows[0])
    print(table(headers, [[r.get(h, "") for h in headers] for r in rows]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
