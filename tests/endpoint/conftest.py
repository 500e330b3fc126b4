"""Fixtures for the SPARQL endpoint tests: a tiny release, the app, a client, a trap listener."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from srv_helpers import make_app
from srv_release import write_release

from server import runtime


@pytest.fixture(scope="session")
def release_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fixture release, written once per session (tests never modify it)."""
    return write_release(tmp_path_factory.mktemp("release"))


@pytest.fixture
def app(release_dir: Path) -> Iterator[Flask]:
    """A fresh app per test; its executor processes are killed afterwards."""
    app = make_app(release_dir)
    yield app
    runtime(app).pool.close()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """Flask test client (fast, no sockets)."""
    return app.test_client()


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


@pytest.fixture
def trap() -> Iterator[Trap]:
    """A listener that must receive no connection during the test."""
    t = Trap()
    yield t
    t.close()


@pytest.fixture
def secret_file(tmp_path: Path) -> Path:
    """A local Turtle file whose content must never appear in a response."""
    path = tmp_path / "secret.ttl"
    path.write_text('<urn:x:s> <urn:x:p> "TOP-SECRET-7f3a" .\n', encoding="utf-8")
    return path
