"""Under abuse, against the real server: abandoned queries stop, long ones yield, limits hold.

A client that gives up on a pathological query must not leave it running to the time limit;
a query that keeps the CPU busy is demoted to the idle scheduling class and the slow lane
while light queries keep being answered; the time limit and the process bound still hold.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
import requests

REPO = Path(__file__).resolve().parents[2]
CROSS = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"
EXECUTORS, SLOW_LANE, TIME_LIMIT = 2, 1, 6.0


class Live:
    """``python -m server.run`` over a release on a free loopback port, in its own session."""

    def __init__(self, release: Path, log: Path) -> None:
        """Start one worker with small pools, and wait until it answers."""
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.log = log
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "server.run", str(release), "--port", str(self.port),
             "--workers", "1", "--threads", "4", "--executors", str(EXECUTORS),
             "--slow-lane", str(SLOW_LANE), "--time-limit", str(TIME_LIMIT),
             "--graceful-timeout", "2"],
            cwd=REPO, stdout=log.open("wb"), stderr=subprocess.STDOUT, start_new_session=True,
        )
        self.base = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(self.base + "/health", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                pass
            assert time.monotonic() < deadline and self.proc.poll() is None, log.read_text()
            time.sleep(0.1)

    def ask(self) -> tuple[int, float]:
        """A light query (unique text, so uncached): its status and seconds."""
        started = time.monotonic()
        r = requests.get(self.base + "/sparql", timeout=10,
                         params={"query": f"# {uuid.uuid4()}\nASK {{ ?s a ?c }}"})
        return r.status_code, time.monotonic() - started

    def executors(self) -> list[int]:
        """Pids of the worker's executor processes (grandchildren of the server process)."""
        kids = _children()
        return [e for w in kids.get(self.proc.pid, []) for e in kids.get(w, [])]

    def stop(self) -> None:
        """SIGTERM the session, then SIGKILL whatever is left."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(15)
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)


def _children() -> dict[int, list[int]]:
    """Parent pid -> child pids of every live process."""
    kids: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError):
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                if fields[0] != "Z":
                    kids.setdefault(int(fields[1]), []).append(int(entry.name))
    return kids


def _idle_class(pid: int) -> bool:
    """Whether ``pid`` runs in the idle scheduling class (the demoted ones do)."""
    try:
        return os.sched_getscheduler(pid) == os.SCHED_IDLE
    except OSError:
        return False


def _send(live: Live, query: str) -> socket.socket:
    """Send a query GET on a raw connection and return it unread (a client about to give up)."""
    sock = socket.create_connection(("127.0.0.1", live.port), timeout=5)
    sock.sendall(f"GET /sparql?query={quote(query, safe='')} HTTP/1.1\r\n"
                 f"Host: 127.0.0.1:{live.port}\r\n\r\n".encode())
    return sock


def _wait(what, seconds: float) -> bool:  # type: ignore[no-untyped-def]
    """Poll ``what()`` every 50 ms for at most ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if what():
            return True
        time.sleep(0.05)
    return bool(what())


@pytest.fixture(scope="module")
def live(real_release: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    """The real server over the real release, stopped after the module."""
    server = Live(real_release, tmp_path_factory.mktemp("abuse") / "server.log")
    try:
        yield server
    finally:
        server.stop()


def test_an_abandoned_query_is_stopped_when_its_client_goes(live: Live) -> None:
    for i in range(3):
        sock = _send(live, f"{CROSS} # gone {i} {uuid.uuid4()}")
        time.sleep(0.6)  # running, demoted by now or soon
        started = time.monotonic()
        sock.close()  # the client gives up
        assert _wait(lambda n=i: live.log.read_text().count("its client went away") > n, 3.0), \
            live.log.read_text()[-2000:]
        assert time.monotonic() - started < 3.0
    # Its executor is gone and no process is left burning CPU: the pool is back to its size.
    assert _wait(lambda: len(live.executors()) == EXECUTORS, 3.0), live.executors()
    assert live.ask()[0] == 200


def test_a_busy_query_is_demoted_while_light_ones_are_answered(live: Live) -> None:
    socks = [_send(live, f"{CROSS} # busy {i} {uuid.uuid4()}") for i in range(SLOW_LANE + 1)]
    try:
        assert _wait(lambda: sum(map(_idle_class, live.executors())) == SLOW_LANE + 1, 5.0), \
            [(p, _idle_class(p)) for p in live.executors()]
        # The slow lane's query got a fresh executor in its place; the one beyond the lane
        # was demoted where it runs.  Never more than executors + slow lane processes.
        assert len(live.executors()) <= EXECUTORS + SLOW_LANE
        statuses, times = zip(*(live.ask() for _ in range(10)), strict=True)
        assert set(statuses) == {200}
        assert sorted(times)[5] < 1.0, times
        # The time limit still ends a demoted query, with the usual 503.
        for sock in socks:
            sock.settimeout(TIME_LIMIT + 10)
            head = sock.recv(65536).decode("latin-1")
            assert head.startswith("HTTP/1.1 503"), head[:200]
            assert f"time limit of {TIME_LIMIT:g} s" in head or "Retry-After" in head
    finally:
        for sock in socks:
            sock.close()
    assert _wait(lambda: len(live.executors()) == EXECUTORS, 3.0), live.executors()
    assert not any(map(_idle_class, live.executors()))


def test_queries_that_arrived_together_stop_once_all_their_clients_go(live: Live) -> None:
    # Sent back to back, the two requests arrive within one tick of the kernel's TCP clock, so
    # neither can be told apart from the other: each tracks both connections.
    gone_before = live.log.read_text().count("its client went away")
    socks = [_send(live, f"{CROSS} # together {i} {uuid.uuid4()}") for i in range(2)]
    time.sleep(0.6)
    started = time.monotonic()
    for sock in socks:
        sock.close()
    assert _wait(lambda: live.log.read_text().count("its client went away") >= gone_before + 2,
                 3.0), live.log.read_text()[-2000:]
    assert time.monotonic() - started < 3.0
    assert _wait(lambda: len(live.executors()) == EXECUTORS, 3.0), live.executors()


def test_a_query_whose_client_stays_runs_on_beside_one_whose_client_went(live: Live) -> None:
    kept, dropped = (_send(live, f"{CROSS} # beside {i} {uuid.uuid4()}") for i in range(2))
    try:
        time.sleep(0.6)
        dropped.close()
        # Whether or not the two were told apart, the client still waiting is never cut off:
        # its query ends at the time limit with the usual 503.
        kept.settimeout(TIME_LIMIT + 10)
        head = kept.recv(65536).decode("latin-1")
        assert head.startswith("HTTP/1.1 503"), head[:200]
        assert "closed the connection" not in head
        assert f"time limit of {TIME_LIMIT:g} s" in head or "Retry-After" in head
    finally:
        kept.close()
    assert _wait(lambda: len(live.executors()) == EXECUTORS, 3.0), live.executors()
