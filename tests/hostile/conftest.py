"""Fixtures for the hostile-input tests: the real release, an app on it, a live server."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from hostile_support import HEADER_TIMEOUT, ROW_LIMIT, TIME_LIMIT, LiveServer
from hypothesis import HealthCheck, settings

from server import create_app, runtime

#: Bounded and reproducible: no example database in the work tree, no per-example deadline
#: (the executors answer in milliseconds, the time limit guards the rest).
settings.register_profile(
    "hostile",
    database=None,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
settings.load_profile("hostile")



@pytest.fixture(scope="session")
def hostile_release(request: pytest.FixtureRequest) -> Path:
    """The real release, built once per session (or an intact one in CYTOKG_HOSTILE_RELEASE)."""
    given = os.environ.get("CYTOKG_HOSTILE_RELEASE")
    if given:
        return Path(given)
    return Path(request.getfixturevalue("real_release"))


@pytest.fixture(scope="module")
def hostile_app(hostile_release: Path) -> Iterator[Flask]:
    """The app over the project's real release with short limits (one per module)."""
    app = create_app(
        {
            "release_dir": hostile_release,
            "time_limit": TIME_LIMIT,
            "row_limit": ROW_LIMIT,
            "executors": 2,
            "access_log": False,
        }
    )
    app.config["TESTING"] = True
    yield app
    runtime(app).pool.close()


@pytest.fixture(scope="module")
def live(hostile_release: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The real server (Granian) on 127.0.0.1 over the real release, stopped after the module."""
    log = tmp_path_factory.mktemp("live") / "server.log"
    server = LiveServer(
        hostile_release,
        log,
        "--time-limit", str(TIME_LIMIT),
        "--row-limit", str(ROW_LIMIT),
        "--workers", "2",
        "--threads", "4",
        "--executors", "4",
        "--graceful-timeout", "2",
        "--header-timeout", str(HEADER_TIMEOUT),
    )
    yield server
    server.stop()
