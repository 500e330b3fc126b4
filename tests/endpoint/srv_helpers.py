"""Helpers shared by the server tests: app construction and process/HTTP utilities."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import requests
from flask import Flask

from server import create_app


def make_app(release_dir: Path, **overrides: Any) -> Flask:
    """Create an app on the fixture release with small, test-friendly limits."""
    settings: dict[str, Any] = {
        "release_dir": release_dir,
        "time_limit": 5.0,
        "row_limit": 1000,
        "executors": 2,
        "access_log": False,
    }
    settings.update(overrides)
    app = create_app(settings)
    app.config["TESTING"] = True
    return app


REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def live_processes() -> Iterator[tuple[int, list[str]]]:
    """Each process that is not a zombie, with its /proc stat fields after the name."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] != "Z":
            yield int(entry.name), fields


def group_processes(pgid: int) -> list[int]:
    """Pids still alive in process group ``pgid`` (Linux /proc), to prove nothing is left."""
    return [pid for pid, fields in live_processes() if int(fields[2]) == pgid]


class LiveServer:
    """The real server (``python -m server.run``, Granian) on a free 127.0.0.1 port."""

    def __init__(self, release_dir: Path, log_path: Path, *extra: str,
                 command: list[str] | None = None) -> None:
        """Start the server (or `command` plus --port) in its own process group; await /health."""
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self._log = open(log_path, "wb")  # noqa: SIM115 - closed in stop()
        if command is None:
            command = [sys.executable, "-m", "server.run", str(release_dir)]
        self.proc = subprocess.Popen(
            [*command, "--port", str(self.port), *extra],
            cwd=REPO,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 120  # a first `cytokg serve` builds before serving
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited early: {log_path.read_text()}")
            try:
                if requests.get(self.base + "/health", timeout=1).status_code == 200:
                    return
            except requests.RequestException:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"server did not start: {log_path.read_text()}")

    def terminate(self, timeout: float = 20) -> int:
        """Send SIGTERM (graceful shutdown) and wait for the exit code."""
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=timeout)

    def stop(self) -> None:
        """Stop the server and anything left in its process group, whatever happened."""
        if self.proc.poll() is None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.terminate()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=5)
        self._log.close()


class Trap:
    """A TCP listener on 127.0.0.1 that records any connection, to prove nothing is fetched."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.port: int = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}/sparql"
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except (TimeoutError, OSError):
                continue
            self.connections += 1
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self.sock.close()
