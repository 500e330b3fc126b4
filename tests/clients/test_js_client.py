"""A JavaScript client from npm (sparql-http-client 3.1.0) against the real server.

The client is installed from the committed package-lock.json into tests/clients/js with
``npm ci`` on first use; without node and npm the test fails and says what to install.
"""

from __future__ import annotations

from suites import js_suite


def test_sparql_http_client_every_form_and_operation(endpoint: str) -> None:
    outcomes = js_suite(endpoint)
    forms = ("SELECT", "ASK", "CONSTRUCT", "DESCRIBE")
    operations = ("get", "postUrlencoded", "postDirect")
    assert [o.case for o in outcomes] == [f"{f} {op}" for f in forms for op in operations]
    failed = [f"{o.case}: {o.detail}" for o in outcomes if not o.ok]
    assert not failed, failed
