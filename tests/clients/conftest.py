"""Fixtures for the client-compatibility tests: the real server (Granian) on the fixture release."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

# The endpoint tests' helpers start the real server and write the fixture release.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "endpoint"))

from srv_helpers import LiveServer
from srv_release import write_release


@pytest.fixture(scope="session")
def endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``http://127.0.0.1:PORT/sparql`` of one real server for every client test."""
    release = write_release(tmp_path_factory.mktemp("clients-release"))
    log = tmp_path_factory.mktemp("clients-live") / "server.log"
    server = LiveServer(release, log, "--workers", "1", "--threads", "4")
    try:
        yield server.base + "/sparql"
    finally:
        server.stop()
