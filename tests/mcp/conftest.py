"""Fixtures of the MCP tests: the built release, and one real server per transport."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from mcp_support import HttpServer, Session, stdio_session


@pytest.fixture(scope="session")
def mcp_release(request: pytest.FixtureRequest) -> Path:
    """The project's release, built once per session (CYTOKG_TEST_RELEASE names a built one)."""
    given = os.environ.get("CYTOKG_TEST_RELEASE")
    if given:
        return Path(given)
    return request.getfixturevalue("real_release")


@pytest.fixture(scope="module", params=["stdio", "http"])
def mcp(request: pytest.FixtureRequest, mcp_release: Path) -> Iterator[Session]:
    """A connected client of a real ``cytokg mcp`` over stdio or streamable HTTP."""
    if request.param == "stdio":
        session = stdio_session(mcp_release)
        try:
            yield session
        finally:
            session.close()
        return
    server = HttpServer(mcp_release)
    try:
        session = Session(server.url.result())
        try:
            yield session
        finally:
            session.close()
    finally:
        server.stop()
