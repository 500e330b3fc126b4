"""Fixtures for the Virtuoso tests: one real server per module, published with our release."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from virtuoso_helpers import INSTALL_HINT, VirtuosoServer


@pytest.fixture(scope="module")
def virtuoso(real_release: Path, tmp_path_factory: pytest.TempPathFactory
             ) -> Iterator[VirtuosoServer]:
    """A fresh Virtuoso on loopback that may read the pytest temporary tree; always stopped."""
    # CI installs it (.ci/run): a missing server is a broken set-up, never a reason to skip.
    try:
        server = VirtuosoServer(tmp_path_factory.mktemp("virtuoso"),
                                [tmp_path_factory.getbasetemp(), real_release])
    except RuntimeError as exc:
        if str(exc) == INSTALL_HINT:
            pytest.fail(INSTALL_HINT)
        raise
    try:
        yield server
    finally:
        server.stop()
