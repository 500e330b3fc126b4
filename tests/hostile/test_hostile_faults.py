"""Faults: killed processes, a bad release at start-up, a full disk, sources changed while serving.

Each ends in a clear message, the last good release keeps being served, and nothing
half-written is ever served.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests
from hostile_support import (
    REPO,
    TIME_LIMIT,
    LiveServer,
    assert_no_leak,
    busy_executor,
    children_of,
    free_port,
    group_processes,
    run_cli,
    worker_pids,
)

from kg.build import Project
from kg.integrity import verify_release

LONG = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"
PROBE = "ASK { ?s a ?c }"


def ask(base: str) -> requests.Response:
    """A unique simple query (no cache can answer it), bounded in time."""
    return requests.get(
        base + "/sparql", params={"query": f"# {uuid.uuid4()}\n{PROBE}"}, timeout=10
    )


def start_long_query(base: str, out: list[object]) -> threading.Thread:
    """Run the long query in a thread, recording its response or its exception."""

    def run() -> None:
        try:
            out.append(
                requests.get(base + "/sparql", params={"query": f"# {uuid.uuid4()}\n{LONG}"},
                             timeout=TIME_LIMIT + 20)
            )
        except requests.RequestException as exc:
            out.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def wait_for(condition: Callable[[], bool], timeout: float) -> bool:
    """Poll ``condition`` until it holds or ``timeout`` seconds pass."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return condition()


# ----------------------------------------------------------------------------- killed processes


def settled(count: Callable[[], int], quiet: float = 0.5, timeout: float = 10.0) -> int:
    """A count once it has stayed the same for `quiet` seconds (bounded by `timeout`)."""
    deadline = time.monotonic() + timeout
    value = count()
    while time.monotonic() < deadline:
        time.sleep(quiet)
        again = count()
        if again == value:
            return value
        value = again
    return value


def all_workers(live: LiveServer, expected: int = 2) -> list[int]:
    """The worker pids once every worker has booted (the first may answer before the last)."""
    assert wait_for(lambda: len(worker_pids(live.proc.pid)) == expected, 20)
    return worker_pids(live.proc.pid)


def test_killing_an_executor_mid_query(live: LiveServer) -> None:
    """The query's client gets a 503 at once; the executor is replaced; others go on."""
    assert ask(live.base).ok
    workers = all_workers(live)
    # Workers fork their executors after they start: count them once the number holds still.
    before = settled(lambda: len(children_of(workers)))
    out: list[object] = []
    thread = start_long_query(live.base, out)
    victim = busy_executor(workers)
    started = time.monotonic()
    os.kill(victim, signal.SIGKILL)
    thread.join(timeout=TIME_LIMIT + 20)
    took = time.monotonic() - started
    (resp,) = out
    assert isinstance(resp, requests.Response), resp
    assert resp.status_code == 503
    assert resp.text.startswith("The query's process failed")
    assert resp.headers["Retry-After"]
    assert took < TIME_LIMIT
    assert ask(live.base).json()["boolean"] is True
    assert wait_for(lambda: len(children_of(workers)) == before, 5)
    assert victim not in group_processes(live.proc.pid)


def test_killing_a_worker_mid_query(live: LiveServer) -> None:
    """Gunicorn replaces the worker; its executors exit; every later query is answered."""
    assert ask(live.base).ok
    workers = all_workers(live)
    out: list[object] = []
    thread = start_long_query(live.base, out)
    executor = busy_executor(workers)
    victim = next(w for w in workers if executor in children_of([w]))
    orphans = children_of([victim])
    os.kill(victim, signal.SIGKILL)
    thread.join(timeout=TIME_LIMIT + 20)
    (result,) = out
    # The connection of the killed process is cut: the client sees a closed connection, never
    # a partial body passed off as an answer.
    assert isinstance(result, requests.ConnectionError), result
    assert wait_for(lambda: len(worker_pids(live.proc.pid)) == len(workers), 15)
    assert victim not in worker_pids(live.proc.pid)
    # Orphaned executors notice their parent is gone and exit (they poll every second).
    assert wait_for(lambda: not set(orphans) & set(group_processes(live.proc.pid)), 10)
    answers = [ask(live.base) for _ in range(20)]
    assert all(r.status_code == 200 and r.json()["boolean"] is True for r in answers)


# ----------------------------------------------------------------------------- start-up checks


def refused_start(release: Path, tmp_path: Path) -> str:
    """Start the real server on ``release``; it must exit 1 at once; return its stderr."""
    proc = subprocess.run(
        [sys.executable, "-m", "server.run", str(release), "--port", str(free_port())],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        start_new_session=True,
    )
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    return proc.stderr


@pytest.fixture
def release_copy(hostile_release: Path, tmp_path: Path) -> Path:
    """A private copy of the real release that a test may damage."""
    return Path(shutil.copytree(hostile_release, tmp_path / "release"))


def test_server_refuses_a_corrupt_release_file(release_copy: Path, tmp_path: Path) -> None:
    """One flipped byte in a served file: the server names it and does not start."""
    target = release_copy / "cytokg-inferred.nt"
    data = bytearray(target.read_bytes())
    data[len(data) // 2] ^= 0x01
    target.write_bytes(bytes(data))
    assert refused_start(release_copy, tmp_path) == (
        f"server: error: {target} does not match the SHA-256 in {release_copy / 'manifest.json'} "
        "(corrupt or changed after the build); rebuild with `cytokg build`\n"
    )


def test_server_refuses_a_half_written_release_file(release_copy: Path, tmp_path: Path) -> None:
    """A file cut short (as a crash mid-copy would leave it) is refused too."""
    target = release_copy / "cytokg-asserted.nt"
    with open(target, "r+b") as handle:
        handle.truncate(target.stat().st_size // 2)
    stderr = refused_start(release_copy, tmp_path)
    assert stderr.startswith(f"server: error: {target} does not match the SHA-256")


@pytest.mark.parametrize("name", ["void.ttl", "cytokg-asserted.nt", "manifest.json"])
def test_server_refuses_a_missing_release_file(release_copy: Path, tmp_path: Path,
                                               name: str) -> None:
    """A missing file is named; a missing manifest means no complete release."""
    (release_copy / name).unlink()
    stderr = refused_start(release_copy, tmp_path)
    if name == "manifest.json":
        expected = (f"server: error: {release_copy / name} is missing: {release_copy} holds no "
                    "complete release (run `cytokg build`)\n")
    else:
        expected = (f"server: error: {release_copy / name} is missing (listed in "
                    f"{release_copy / 'manifest.json'}); rebuild with `cytokg build`\n")
    assert stderr == expected


def test_server_refuses_an_unreadable_manifest(release_copy: Path, tmp_path: Path) -> None:
    """A manifest that is not JSON (a torn write by another tool) is refused with its name."""
    (release_copy / "manifest.json").write_text('{"files": {', encoding="utf-8")
    stderr = refused_start(release_copy, tmp_path)
    assert stderr.startswith(f"server: error: {release_copy / 'manifest.json'} is unreadable")


# ----------------------------------------------------------------------------- building


def release_state(out: Path) -> dict[str, str]:
    """Hash of every file under a release directory (to prove nothing changed)."""
    return {
        str(p.relative_to(out)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(out.rglob("*"))
        if p.is_file()
    }


def edit_source(project: Project, comment: str) -> None:
    """A real change of content: a comment on a class, so the rebuild changes the graph."""
    with open(project.ontology / "cytokg.ttl", "a", encoding="utf-8") as handle:
        handle.write(f'\ncytokg:Cytokine rdfs:comment "{comment}"@en .\n')


@contextlib.contextmanager
def tiny_tmpfs(path: Path, size_kb: int) -> Iterator[Path]:
    """Mount a tmpfs of ``size_kb`` at ``path`` (the tests run as root, as CI does)."""
    path.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size_kb}k", "tmpfs", str(path)],
        capture_output=True,
        text=True,
    )
    assert mounted.returncode == 0, f"cannot mount a tmpfs here: {mounted.stderr.strip()}"
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], capture_output=True)


def file_size_limit(limit: int) -> Callable[[], None]:
    """In the child: no file may grow past ``limit`` bytes (EFBIG, as a full disk fails a write)."""

    def apply() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


def pages_used(directory: Path) -> int:
    """Bytes a directory's files take on a tmpfs (each file rounded up to 4 KiB pages)."""
    return sum(-(-p.stat().st_size // 4096) * 4096 for p in directory.rglob("*") if p.is_file())


@pytest.mark.parametrize("how", ["tmpfs", "file-size-limit"])
def test_full_disk_while_building_keeps_the_last_release(mini: Project, tmp_path: Path,
                                                         how: str) -> None:
    """A rebuild that cannot write fails naming the file; the previous release stays intact."""
    scratch = tmp_path / "first"
    first = run_cli("--root", str(mini.root), "--out", str(scratch), "build")
    assert first.returncode == 0, first.stderr
    with contextlib.ExitStack() as stack:
        out = tmp_path / "out"
        preexec = None
        if how == "tmpfs":  # room for one release and a little, not for a second one beside it
            size_kb = (pages_used(scratch) + 64 * 1024) // 1024
            stack.enter_context(tiny_tmpfs(out, size_kb))
            shutil.copytree(scratch, out, dirs_exist_ok=True)
        else:  # every file may be written except the largest release files
            shutil.copytree(scratch, out)
            largest = max(p.stat().st_size for p in scratch.rglob("*") if p.is_file())
            preexec = file_size_limit(largest - 1)
        before = release_state(out)
        verify_release(out)
        edit_source(mini, "rebuilt on a full disk")
        second = run_cli("--root", str(mini.root), "--out", str(out), "build", preexec=preexec)
        assert second.returncode == 1, second.stdout + second.stderr
        reason = "No space left on device" if how == "tmpfs" else "File too large"
        last = second.stderr.strip().splitlines()[-1]
        assert last.startswith(f"cytokg: error: cannot write {out}/"), last
        assert last.endswith(f"({reason}); the previous release is unchanged"), last
        assert "Traceback" not in second.stderr
        assert release_state(out) == before  # nothing replaced, no temporary left behind
        verify_release(out)


def test_failed_rebuild_while_serving_keeps_serving(mini: Project, tmp_path: Path) -> None:
    """A source broken while the server runs: the build names file and line, serving goes on."""
    out = tmp_path / "out"
    assert run_cli("--root", str(mini.root), "--out", str(out), "build").returncode == 0
    before = release_state(out)
    server = LiveServer(out, tmp_path / "server.log", "--workers", "1", "--threads", "2")
    try:
        count = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"
        first = requests.get(server.base + "/sparql", params={"query": count}, timeout=10).json()
        source = mini.ontology / "cytokg.ttl"
        lines = source.read_text(encoding="utf-8").count("\n")
        with open(source, "a", encoding="utf-8") as handle:
            handle.write("cytokg:Broken a owl:Class ;; rdfs:label .\n")
        broken = run_cli("--root", str(mini.root), "--out", str(out), "build")
        assert broken.returncode == 1
        message = broken.stderr.strip().splitlines()[-1]
        assert message.startswith("cytokg: error: ") and "cytokg.ttl" in message
        assert f"/ontology/cytokg.ttl:{lines + 1}: Turtle syntax error" in message, message
        assert release_state(out) == before
        again = requests.get(server.base + "/sparql", params={"query": count}, timeout=10).json()
        assert again == first
        assert requests.get(server.base + "/health", timeout=10).ok
    finally:
        server.stop()


def test_rebuild_while_serving_never_serves_a_half_written_file(mini: Project,
                                                                tmp_path: Path) -> None:
    """Downloads during a rebuild are always the whole old or the whole new file."""
    out = tmp_path / "out"
    assert run_cli("--root", str(mini.root), "--out", str(out), "build").returncode == 0
    old = json.loads((out / "manifest.json").read_text())["files"]
    server = LiveServer(out, tmp_path / "server.log", "--workers", "1", "--threads", "4")
    seen: list[tuple[str, str]] = []
    errors: list[str] = []
    stop = threading.Event()

    def download() -> None:
        while not stop.is_set() and len(seen) < 5000:
            for name in ("cytokg.nt", "cytokg.ttl", "cytokg.jsonld"):
                try:
                    r = requests.get(f"{server.base}/downloads/{name}", timeout=10)
                except requests.RequestException as exc:
                    errors.append(str(exc))
                    continue
                if r.status_code != 200:
                    errors.append(f"{name}: {r.status_code}")
                seen.append((name, hashlib.sha256(r.content).hexdigest()))

    try:
        threads = [threading.Thread(target=download) for _ in range(3)]
        for t in threads:
            t.start()
        edit_source(mini, "changed while serving")
        rebuilt = run_cli("--root", str(mini.root), "--out", str(out), "build")
        time.sleep(0.3)
        stop.set()
        for t in threads:
            t.join(timeout=20)
        assert rebuilt.returncode == 0, rebuilt.stderr
        new = verify_release(out)["files"]
        assert not errors, errors[:5]
        assert seen
        for name, sha in seen:
            assert sha in (old[name]["sha256"], new[name]["sha256"]), name
        assert old["cytokg.nt"]["sha256"] != new["cytokg.nt"]["sha256"]
        assert_no_leak(requests.get(server.base + "/health", timeout=10).content)
    finally:
        stop.set()
        server.stop()
