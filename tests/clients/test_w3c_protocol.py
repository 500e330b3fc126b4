"""The W3C SPARQL 1.1 Protocol query tests for a read-only service, against the real server."""

from __future__ import annotations

import pytest
from w3c_protocol import CASES, Case


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_w3c_protocol(endpoint: str, case: Case) -> None:
    case.run(endpoint)
