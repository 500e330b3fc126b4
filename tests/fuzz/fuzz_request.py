"""Coverage-guided fuzz target (atheris) for the request-parsing layer of the endpoint.

Covers server/formats.py (Accept parsing, negotiation, format lookup), server/guard.py (the
query lexer and inspection) and server/sparql.py (parameter collection and checks) without
running any query. Any exception other than the endpoint's own refusals is a finding.

Run from the repository root for a bounded time (not part of the pytest run)::

    .venv/bin/python tests/fuzz/fuzz_request.py -max_total_time=60 tests/fuzz/corpus

An input is NUL-separated: method (GET, POST or FORM), Accept, format, URL query string,
body. New interesting inputs are added to the corpus folder; crashes are written as
``crash-*`` files in the current directory.
"""

from __future__ import annotations

import sys
from types import SimpleNamespace

import atheris

with atheris.instrument_imports():
    from flask import Flask
    from werkzeug.exceptions import HTTPException

    from server import Settings, errors, formats, guard, sparql

#: Checks of the same quantities as the server, kept small so the fuzzer runs fast.
SETTINGS = Settings(body_limit=4096)
APP = Flask("fuzz")
APP.config["MAX_CONTENT_LENGTH"] = SETTINGS.body_limit
APP.extensions["cytokg"] = SimpleNamespace(settings=SETTINGS)
CONTENT_TYPES = {
    "GET": None,
    "POST": "application/sparql-query",
    "FORM": "application/x-www-form-urlencoded",
}


def split(data: bytes) -> tuple[str, str, str, bytes, bytes]:
    """Cut an input into method, Accept, format, URL query string and body."""
    parts = data.split(b"\x00", 4) + [b""] * 5
    method = parts[0].decode("latin-1").strip().upper()
    accept = parts[1].decode("latin-1")
    fmt = parts[2].decode("utf-8", "replace")
    return method, accept, fmt, parts[3], parts[4]


def check_formats(accept: str, fmt: str) -> None:
    """Accept parsing and negotiation never fail, and only ever choose what was offered."""
    for media_range in formats.parse_accept(accept):
        assert 0.0 <= media_range.q <= 1.0
    for kind in ("tabular", "graph"):
        chosen = formats.choose(accept, kind)  # type: ignore[arg-type]
        assert chosen is None or chosen.kind == kind
    found = formats.lookup(fmt)
    assert found is None or found in formats.ALL_FORMATS


def check_guard(text: str) -> None:
    """The lexer either inspects the query or refuses it with a message."""
    try:
        inspection = guard.inspect_query(text)
    except guard.Refused as exc:
        assert str(exc)
        return
    assert inspection.form is None or inspection.form in guard.QUERY_FORMS


def check_params(method: str, accept: str, query_string: bytes, body: bytes) -> None:
    """Parameter collection either yields parameters or raises a protocol error (4xx)."""
    http_method = "GET" if method not in CONTENT_TYPES or method == "GET" else "POST"
    headers = {}
    ctype = CONTENT_TYPES.get(method)
    if ctype:
        headers["Content-Type"] = ctype
    environ = {"QUERY_STRING": query_string.decode("latin-1")}
    if accept:  # straight into the WSGI environ, as a server hands any header bytes on
        environ["HTTP_ACCEPT"] = accept
    with APP.test_request_context(
        "/sparql",
        method=http_method,
        headers=headers,
        data=body if http_method == "POST" else None,
        environ_overrides=environ,
    ):
        try:
            params, direct = sparql.collect_params()
            sparql.check_params(params)
            sparql.result_formats(params)
            text = direct if direct is not None else (params.get("query") or [""])[0]
            check_guard(text)
        except errors.ProtocolError as exc:
            assert 400 <= exc.status < 500 and exc.message
        except HTTPException as exc:  # 413 from the body limit
            assert exc.code is not None and 400 <= exc.code < 500


def test_one_input(data: bytes) -> None:
    """The fuzz entry point: one input through all three parsing layers."""
    method, accept, fmt, query_string, body = split(data)
    check_formats(accept, fmt)
    check_guard(body.decode("utf-8", "replace"))
    check_params(method, accept, query_string, body)


def main() -> None:
    """Run atheris; default to a bounded run when no time or run limit is given."""
    argv = list(sys.argv)
    if not any(a.startswith(("-max_total_time", "-runs")) for a in argv[1:]):
        argv.append("-max_total_time=30")
    atheris.Setup(argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
