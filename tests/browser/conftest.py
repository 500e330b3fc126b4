"""Fixtures for the browser tests: the real server over the real release, and headless Chromium.

Chromium is Debian's (``apt-get install chromium``), driven by Playwright's Python package;
Playwright never downloads a browser here. Every request the page makes must stay on the
loopback server, which the ``page`` fixture checks.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import BrowserContext, Page, sync_playwright

from tests.endpoint.srv_helpers import LiveServer

CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TIMEOUT_MS = 15_000  # every wait in these tests is bounded by this


@pytest.fixture(scope="session")
def live(real_release: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The production server (Granian) on a free loopback port, serving the real release."""
    log = tmp_path_factory.mktemp("browser-server") / "server.log"
    server = LiveServer(real_release, log, "--workers", "1", "--threads", "4")
    yield server
    server.stop()


@pytest.fixture(scope="session")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrowserContext]:
    """Headless Chromium with a fresh profile, closed at the end of the session."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium (the CI script does)")
    profile = tmp_path_factory.mktemp("chromium-profile")
    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(profile),
            executable_path=CHROMIUM,
            headless=True,
            args=FLAGS,
            viewport={"width": 1280, "height": 900},
            timeout=TIMEOUT_MS,
        )
        context.set_default_timeout(TIMEOUT_MS)
        try:
            yield context
        finally:
            context.close()
            shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture
def page(browser: BrowserContext, live: LiveServer) -> Iterator[Page]:
    """A fresh tab; afterwards, no console error (e.g. a CSP violation) and no off-host request."""
    tab = browser.new_page()
    problems: list[str] = []
    hosts: set[str] = set()
    tab.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    tab.on("pageerror", lambda e: problems.append(str(e)))
    tab.on("request", lambda r: hosts.add(urlsplit(r.url).netloc))
    try:
        yield tab
    finally:
        tab.close()
    # a 400 is the endpoint's answer to a malformed query, which the page shows to the user
    assert [p for p in problems if "status of 400" not in p] == []
    assert hosts <= {f"127.0.0.1:{live.port}"}
