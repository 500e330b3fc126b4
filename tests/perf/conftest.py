"""Fixtures for the scale-out tests: a real Oxigraph server on loopback, always stopped."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from perf_helpers import free_port

OXIGRAPH = Path(sys.executable).parent / "oxigraph"


@pytest.fixture
def oxigraph_url(tmp_path: Path) -> Iterator[str]:
    """Base URL of a fresh in-memory ``oxigraph serve`` on 127.0.0.1, killed after the test."""
    # The test extra installs it: a missing server is a broken set-up, not a reason to skip.
    assert OXIGRAPH.exists(), "the oxigraph server (PyPI package oxigraph) is not installed"
    port = free_port()
    log = (tmp_path / "oxigraph.log").open("wb")
    proc = subprocess.Popen(
        [str(OXIGRAPH), "serve", "--bind", f"127.0.0.1:{port}"],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"{base}/query?query=ASK%7B%7D", timeout=2):
                    break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("oxigraph serve did not start") from None
                time.sleep(0.05)
        yield base
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)
        log.close()
