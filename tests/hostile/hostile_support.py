"""Shared helpers for the hostile-input tests: vocabulary, response checks, live servers."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pyoxigraph
import requests

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "endpoint"))  # the endpoint tests' LiveServer helpers

from srv_helpers import LiveServer, free_port, group_processes, live_processes  # noqa: E402

__all__ = ["LiveServer", "free_port", "group_processes"]

BASE = "https://w3id.org/cytokg/"
SPARQL_RESULTS = "{http://www.w3.org/2005/sparql-results#}"
#: Text that only a leaked stack trace or source location would put in a body.
LEAKS = re.compile(
    r"Traceback \(most recent call last\)|File \"/|site-packages|/lib/python3|"
    r"\bwerkzeug/\d|\bgunicorn/\d|\bFlask/\d|\bPython/\d|pyoxigraph/\d"
)
#: Result media types mapped to the checker that parses them.
GRAPH_TYPES = {
    "text/turtle": pyoxigraph.RdfFormat.TURTLE,
    "application/n-triples": pyoxigraph.RdfFormat.N_TRIPLES,
    "application/rdf+xml": pyoxigraph.RdfFormat.RDF_XML,
    "application/ld+json": pyoxigraph.RdfFormat.JSON_LD,
}
TABULAR_TYPES = (
    "application/sparql-results+json",
    "application/sparql-results+xml",
    "text/csv",
    "text/tab-separated-values",
)


def context_prefixes() -> dict[str, str]:
    """The prefixes published in ontology/context.jsonld, the vocabulary users write with."""
    context = json.loads((REPO / "ontology" / "context.jsonld").read_text(encoding="utf-8"))
    return {k: v for k, v in context["@context"].items() if isinstance(v, str) and "/" in v}


def release_terms(release: Path, limit: int = 400) -> tuple[list[str], list[str]]:
    """Subjects and predicates of our namespace in a release, so queries hit real data."""
    subjects: set[str] = set()
    predicates: set[str] = set()
    pattern = re.compile(r"^<([^>]+)> <([^>]+)> ")
    with open(release / "cytokg.nt", encoding="utf-8") as handle:
        for line in handle:
            found = pattern.match(line)
            if found:
                subjects.add(found.group(1)) if found.group(1).startswith(BASE) else None
                predicates.add(found.group(2))
    return sorted(subjects)[:limit], sorted(predicates)


def assert_no_leak(body: bytes | str) -> None:
    """Fail if a body carries a stack trace, a source path or a library version."""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    found = LEAKS.search(text)
    assert found is None, f"leak {found.group()!r} in body: {text[:300]!r}"


def media_type(content_type: str | None) -> str:
    """The bare, lower-cased media type of a Content-Type header."""
    return (content_type or "").split(";")[0].strip().lower()


def parse_result(ctype: str, body: bytes) -> int:
    """Parse a 200 body in its declared format and return its row/triple count (ASK = 1)."""
    mtype = media_type(ctype)
    if mtype == "application/sparql-results+json":
        doc = json.loads(body)
        assert isinstance(doc["head"], dict)
        if "boolean" in doc:
            assert isinstance(doc["boolean"], bool)
            return 1
        bindings = doc["results"]["bindings"]
        assert isinstance(bindings, list)
        names = set(doc["head"].get("vars", []))
        for row in bindings:
            assert set(row) <= names, (row, names)
        return len(bindings)
    if mtype == "application/sparql-results+xml":
        root = ET.fromstring(body)
        assert root.tag == SPARQL_RESULTS + "sparql"
        if root.find(SPARQL_RESULTS + "boolean") is not None:
            return 1
        results = root.find(SPARQL_RESULTS + "results")
        assert results is not None
        return len(results.findall(SPARQL_RESULTS + "result"))
    if mtype == "text/csv":
        rows = list(csv.reader(io.StringIO(body.decode("utf-8"), newline="")))
        assert rows, "CSV without a header row"
        assert all(len(row) == len(rows[0]) for row in rows[1:]), rows[:3]
        return len(rows) - 1
    if mtype == "text/tab-separated-values":
        text = body.decode("utf-8")
        assert text.endswith("\n") or text == ""
        lines = text.split("\n")[:-1]
        header = lines[0].split("\t")
        assert all(h.startswith(("?", "$")) for h in header if h), header
        assert all(len(line.split("\t")) == len(header) for line in lines[1:]), lines[:3]
        return len(lines) - 1
    if mtype in GRAPH_TYPES:
        triples = list(pyoxigraph.parse(body, format=GRAPH_TYPES[mtype]))
        return len(triples)
    raise AssertionError(f"200 with an unexpected Content-Type {ctype!r}")


#: The 5xx a valid but costly query may earn: the promised time-out, with Retry-After, or the
#: memory cap of a query process (a generated cross product over the whole graph).
TIME_OUT = b"Query cancelled: it exceeded the time limit of "
MEMORY_CAP = b"The query's process failed (it may have needed more memory than the limit of "


def check_answer(status: int, headers: Mapping[str, str], body: bytes) -> None:
    """Every answer is a well-formed 200 in its format, a 4xx with a readable message, or the
    time-limit 503 (a random mutation can make a costly query, e.g. a transitive path)."""
    timed_out = (status == 503 and body.startswith((TIME_OUT, MEMORY_CAP))
                 and "Retry-After" in headers)
    assert status < 500 or timed_out, f"{status}: {body[:300]!r}"
    assert_no_leak(body)
    if status == 200:
        count = parse_result(headers.get("Content-Type", ""), body)
        mtype = media_type(headers.get("Content-Type"))
        if mtype in TABULAR_TYPES or mtype == "application/n-triples":
            assert count == int(headers["X-Result-Count"]), (count, headers["X-Result-Count"])
    elif status >= 400:
        text = body.decode("utf-8")
        assert media_type(headers.get("Content-Type")) == "text/plain"
        assert re.search(r"[A-Za-z]{3}", text), f"{status} without a message: {text!r}"


@dataclass
class RssSampler:
    """Samples the resident memory of every process in a process group, to report the peak."""

    pgid: int
    interval: float = 0.05
    peak_total_kb: int = 0  # RSS summed: counts pages shared copy-on-write once per process
    peak_pss_kb: int = 0  # proportional set size summed: shared pages split between sharers
    peak_single_kb: int = 0
    samples: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def _rss_kb(self, pid: int) -> int:
        """VmRSS of one process in kB (0 if it is gone)."""
        return proc_kb(f"/proc/{pid}/status", "VmRSS:")

    def _pss_kb(self, pid: int) -> int:
        """Proportional set size of one process in kB (0 if it is gone)."""
        return proc_kb(f"/proc/{pid}/smaps_rollup", "Pss:")

    def sample(self) -> None:
        """Take one sample of every live process of the group."""
        pids = group_processes(self.pgid)
        sizes = [self._rss_kb(pid) for pid in pids]
        self.peak_pss_kb = max(self.peak_pss_kb, sum(self._pss_kb(pid) for pid in pids))
        self.peak_total_kb = max(self.peak_total_kb, sum(sizes))
        self.peak_single_kb = max(self.peak_single_kb, max(sizes, default=0))
        self.samples += 1

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    @contextlib.contextmanager
    def running(self) -> Iterator[RssSampler]:
        """Sample in a background thread for the duration of the block."""
        self.sample()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()
        try:
            yield self
        finally:
            self._stop.set()
            self._thread.join(timeout=5)


#: Short limits so that every pathological query ends in seconds.
TIME_LIMIT = 3.0
ROW_LIMIT = 500
HEADER_TIMEOUT = 2.0  # seconds the live server gives a client to send its request head


def proc_kb(path: str, key: str) -> int:
    """A kB figure from a /proc file such as status or smaps_rollup (0 if the process is gone)."""
    try:
        for line in Path(path).read_text().splitlines():
            if line.startswith(key):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def worker_pids(master: int) -> list[int]:
    """Gunicorn worker pids: the direct children of the master process."""
    return sorted(pid for pid, fields in live_processes() if int(fields[1]) == master)


def children_of(pids: list[int]) -> list[int]:
    """Live direct children of any of ``pids`` (a worker's query executors)."""
    return sorted(pid for pid, fields in live_processes() if int(fields[1]) in pids)


def busy_executor(workers: list[int], timeout: float = 5.0) -> int:
    """The pid of an executor that is using CPU now (the one running a long query)."""
    deadline = time.monotonic() + timeout
    previous: dict[int, int] = {}
    while time.monotonic() < deadline:
        for pid in children_of(workers):
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            ticks = int(fields[11]) + int(fields[12])
            if pid in previous and ticks - previous[pid] > 2:
                return pid
            previous[pid] = ticks
        time.sleep(0.1)
    raise AssertionError("no executor became busy")


def run_cli(*args: str, timeout: float = 300, preexec: object = None,
            env: Mapping[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``cytokg`` in its own process group with a time bound; always reap it."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "kg.cli", *args],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        preexec_fn=preexec,  # type: ignore[arg-type]
        env={**os.environ, **(env or {})},
    )
    try:
        out, err = proc.communicate(timeout=timeout)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def get(base: str, path: str, timeout: float = 15, **kwargs: object) -> requests.Response:
    """One GET against a live server, with a bounded wait."""
    return requests.get(base + path, timeout=timeout, **kwargs)  # type: ignore[arg-type]
