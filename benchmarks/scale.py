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
import os
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

    Copy k renames every individual (a subject typed owl:NamedIndividual) ``X`` to ``X_k``
    and every blank node linked to one (its axiom annotations), and keeps the rest once: the
    TBox, with its class expressions, is shared, so each copy answers the questions as our
    graph does.  It is not reasoned again: it stands in for a build when only publishing and
    serving are measured.  A finished copy (its manifest written last) is reused.
    """
    import re

    if (into / "manifest.json").is_file():
        return into
    into.mkdir(parents=True, exist_ok=True)
    lines = {n: (release / n).read_bytes().splitlines(keepends=True)
             for n in ("cytokg-asserted.nt", "cytokg-inferred.nt")}
    people = {line.split(b" ", 1)[0] for text in lines.values() for line in text
              if RDF_TYPE in line and line.rstrip().endswith(NAMED_INDIVIDUAL + b" .")}
    pattern = re.compile(b"(" + b"|".join(re.escape(p[:-1]) for p in people) + b")>|(_:\\w+)")
    bnode = re.compile(rb"_:\w+")
    # Blank nodes joined by a triple form one component; a component is copied with the
    # individuals when any of its triples names an individual (an axiom about an assertion).
    parent: dict[bytes, bytes] = {}

    def root(b: bytes) -> bytes:
        while parent.setdefault(b, b) != b:
            parent[b] = parent[parent[b]]
            b = parent[b]
        return b

    named: set[bytes] = set()
    for text in lines.values():
        for line in text:
            found = bnode.findall(line)
            for other in found[1:]:
                parent[root(other)] = root(found[0])
            if found and any(m.group(1) for m in pattern.finditer(line)):
                named.add(found[0])
    abox = {root(b) for b in named}

    def copied(line: bytes) -> bool:
        found = bnode.findall(line)
        if found:
            return root(found[0]) in abox
        return any(m.group(1) for m in pattern.finditer(line))

    for name, text in lines.items():
        with (into / name).open("wb") as out:
            out.writelines(text)
            chosen = [line for line in text if copied(line)]
            for k in range(1, copies):
                tail = f"_{k}".encode()
                for line in chosen:
                    out.write(pattern.sub(lambda m, t=tail: m.group(1) + t + b">"
                                          if m.group(1) else m.group(2) + t, line))
    for other in release.iterdir():  # the rest of the release, which the server checks:
        target = into / other.name  # copied, so that a rebuild of ``release`` cannot alter it
        if other.name not in lines and other.name != "manifest.json" and not target.exists():
            if other.is_dir():
                shutil.copytree(other, target)
            else:
                shutil.copy2(other, target)
    import hashlib
    import json

    manifest = json.loads((release / "manifest.json").read_text(encoding="utf-8"))
    for name in lines:  # the server checks each file against the manifest
        digest = hashlib.sha256()
        with (into / name).open("rb") as fh:
            while chunk := fh.read(1 << 24):
                digest.update(chunk)
        manifest["files"][name] = {"bytes": (into / name).stat().st_size,
                                   "sha256": digest.hexdigest()}
    # written last: a finished copy is one with a manifest
    (into / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    return into


def measure(release: Path, work: Path, clients: int, seconds: float, buffers: int
            ) -> dict[str, object]:
    """Publish ``release`` into a fresh Virtuoso and run the mix through our endpoint."""
    from kg.publishers.virtuoso import publish

    server = VirtuosoServer(work / "virtuoso", [release], buffers=buffers, time_limit=15)
    try:
        sql = server.sql
        started = time.perf_counter()
        counts = publish(release, sql, progress=lambda m: print(m, file=sys.stderr))  # defaults
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
        with running(start_ours(ROOT, logs, extra, release=release, timeout=1800)) as ours:
            row["serve start s"] = round(ours.started_in, 1)
            result = run_load(load_generator("auto"), ours, texts, "distinct", clients, seconds)
        row.update({"clients": clients, "req/s": round(result.throughput, 1),
                    "p50 ms": round(result.percentile(50) * 1000, 1),
                    "p99 ms": round(result.percentile(99) * 1000, 1),
                    "failed": result.errors + sum(n for code, n in result.statuses.items()
                                                  if code != 200),
                    "virtuoso peak MB": status_kb(server.proc.pid, "VmHWM") // 1024,
                    "load avg": round(os.getloadavg()[0], 1)})
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
    parser.add_argument("--buffers", type=int, default=500_000,
                        help="Virtuoso NumberOfBuffers (8 kB pages; default 500000 = 4 GB, "
                        "which holds the x1000 store, 28 M triples, in memory)")
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
                release = replicate(release, args.copies, args.work / f"copies-{args.copies}")
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
