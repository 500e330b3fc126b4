"""Fixtures for the SPARQL endpoint tests: a tiny release, the app, a client, a trap listener."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from srv_helpers import Trap, make_app
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
