"""Injection and exposure: nothing reflected unescaped, security headers, no path escapes."""

from __future__ import annotations

import hashlib
import http.client
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from flask import Flask
from hostile_support import LiveServer, assert_no_leak
from srv_release import write_release  # importable once hostile_support has run

from server import create_app, runtime

SCRIPT = '<script>alert("x")</script>'
ATTR = '"><img src=x onerror=alert(1)>'
SECRET = "TOP-SECRET-e81c"
EVIL_LABEL = f"{SCRIPT}{ATTR}"


def write_evil_release(directory: Path) -> Path:
    """The endpoint fixture release plus a term whose label and note are HTML/script."""
    write_release(directory)
    extra = (
        f'<https://w3id.org/cytokg/Evil> <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> '
        f'<https://w3id.org/cytokg/Cytokine> .\n'
        f'<https://w3id.org/cytokg/Evil> <http://www.w3.org/2000/01/rdf-schema#label> '
        f'{json.dumps(EVIL_LABEL)}@en .\n'
        f'<https://w3id.org/cytokg/Evil> <https://w3id.org/cytokg/note> '
        f'{json.dumps(SCRIPT)} .\n'
    )
    asserted = directory / "cytokg-asserted.nt"
    asserted.write_text(asserted.read_text(encoding="utf-8") + extra, encoding="utf-8")
    manifest = json.loads((directory / "manifest.json").read_text(encoding="utf-8"))
    manifest["files"]["cytokg-asserted.nt"] = hashlib.sha256(asserted.read_bytes()).hexdigest()
    (directory / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    (directory / "not-in-manifest.txt").write_text(SECRET, encoding="utf-8")
    (directory.parent / "secret.txt").write_text(SECRET, encoding="utf-8")
    return directory


@pytest.fixture(scope="module")
def evil_release(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A release whose data carries markup, with a secret beside and inside the directory."""
    return write_evil_release(tmp_path_factory.mktemp("evil") / "release")


@pytest.fixture(scope="module")
def evil_app(evil_release: Path) -> Iterator[Flask]:
    """The app over the evil release."""
    app = create_app({"release_dir": evil_release, "executors": 1, "access_log": False,
                      "time_limit": 5.0})
    yield app
    runtime(app).pool.close()


@pytest.fixture(scope="module")
def evil_live(evil_release: Path, tmp_path_factory: pytest.TempPathFactory,
              hostile_release: Path) -> Iterator[LiveServer]:
    """The real server over the evil release (with the real docs folder, for /docs/)."""
    docs = hostile_release / "docs"
    if docs.is_dir() and not (evil_release / "docs").exists():
        shutil.copytree(docs, evil_release / "docs")
    server = LiveServer(evil_release, tmp_path_factory.mktemp("evil-live") / "server.log",
                        "--workers", "1", "--threads", "2")
    yield server
    server.stop()


HTML = {"Accept": "text/html"}


def assert_escaped(body: str, *needles: str) -> None:
    """None of the raw markup needles appears in an HTML body."""
    for needle in needles:
        assert needle not in body, f"unescaped {needle!r}"
    assert "<script>alert" not in body and "<img" not in body


@pytest.mark.parametrize(
    "path",
    [
        "/search?q=" + requests.utils.quote(SCRIPT + ATTR),
        "/query?query=" + requests.utils.quote("</textarea>" + SCRIPT + ATTR),
        "/" + requests.utils.quote(SCRIPT),
        "/downloads/" + requests.utils.quote(ATTR),
        "/docs/" + requests.utils.quote(SCRIPT),
        "/releases/" + requests.utils.quote(ATTR) + "/cytokg.owl",
        "/Evil",
        "/Evil.html",
        "/search?q=Evil",
        "/sparql",
    ],
)
def test_html_never_reflects_markup_and_has_security_headers(evil_app: Flask, path: str) -> None:
    """Labels, query text, search terms and error messages are escaped; CSP and nosniff set."""
    r = evil_app.test_client().get(path, headers=HTML)
    assert r.mimetype == "text/html", (r.status_code, r.mimetype)
    body = r.get_data(as_text=True)
    assert_escaped(body, SCRIPT, ATTR)
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    csp = r.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "object-src 'none'" in csp
    assert "frame-ancestors 'none'" in csp
    assert_no_leak(body)


def test_term_page_shows_the_label_escaped(evil_app: Flask) -> None:
    """The evil label is shown as text: its escaped form is on the page."""
    body = evil_app.test_client().get("/Evil", headers=HTML).get_data(as_text=True)
    assert "&lt;script&gt;alert(" in body


@pytest.mark.parametrize(
    "query",
    [SCRIPT, f"SELECT * WHERE {{ ?s ?p {SCRIPT} }}", f"ASK {{ FILTER({ATTR}) }}"],
)
def test_sparql_errors_are_plain_text_never_html(evil_app: Flask, query: str) -> None:
    """An error that echoes the query is text/plain with nosniff, so no browser renders it."""
    browser = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
    r = evil_app.test_client().get("/sparql", query_string={"query": query}, headers=browser)
    assert r.status_code == 400
    assert r.mimetype == "text/plain"
    assert r.headers["X-Content-Type-Options"] == "nosniff"


TRAVERSALS = [
    "/downloads/../secret.txt",
    "/downloads/..%2fsecret.txt",
    "/downloads/%2e%2e/secret.txt",
    "/downloads/%2e%2e%2fsecret.txt",
    "/downloads/%252e%252e%252fsecret.txt",
    "/downloads/not-in-manifest.txt",
    "/downloads//etc/passwd",
    "/downloads/%2fetc%2fpasswd",
    "/downloads/..%5csecret.txt",
    "/docs/../../secret.txt",
    "/docs/..%2f..%2fsecret.txt",
    "/docs/%2e%2e%2f%2e%2e%2fsecret.txt",
    "/docs/..%2fnot-in-manifest.txt",
    "/docs//etc/passwd",
    "/docs/%2fetc%2fpasswd",
    "/docs/%252e%252e/%252e%252e/secret.txt",
    "/..%2fsecret.txt",
    "/%2e%2e%2fsecret.txt",
    "/..%2f..%2f..%2f..%2fetc%2fpasswd",
    "/not-in-manifest.txt",
    "/static/..%2f..%2f..%2fetc%2fpasswd",
    "/static/../../../etc/passwd",
    "/static/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
    "/releases/..%2f..%2fsecret.txt/cytokg.owl",
    "/cytokg.owl/..%2f..%2fsecret.txt",
    "//etc/passwd",
    "/Evil.ttl%00.txt",
]


@pytest.mark.parametrize("path", TRAVERSALS)
def test_no_path_outside_the_release_can_be_read(evil_live: LiveServer, path: str) -> None:
    """Dot-dot, encoded and double-encoded slashes, absolute paths: never a file outside."""
    conn = http.client.HTTPConnection("127.0.0.1", evil_live.port, timeout=10)
    try:
        conn.request("GET", path)  # sent as written: no client-side normalisation
        resp = conn.getresponse()
        body = resp.read()
    finally:
        conn.close()
    assert resp.status in (400, 404), (path, resp.status, body[:200])
    assert SECRET.encode() not in body
    assert b"root:x:0:0" not in body
    assert_no_leak(body)


def test_no_version_in_headers_or_error_bodies(evil_live: LiveServer) -> None:
    """Gunicorn names itself without a version; no other header names software."""
    probes = [
        requests.get(evil_live.base + "/sparql", params={"query": "SELEKT"}, timeout=10),
        requests.get(evil_live.base + "/no/such/page", timeout=10),
        requests.post(evil_live.base + "/sparql", data=b"x",
                      headers={"Content-Type": "image/png"}, timeout=10),
        requests.request("DELETE", evil_live.base + "/sparql", timeout=10),
        requests.get(evil_live.base + "/health", timeout=10),
    ]
    assert [p.status_code for p in probes] == [400, 404, 415, 405, 200]
    for r in probes:
        assert r.headers.get("Server") in (None, "granian"), r.headers.get("Server")  # no version
        assert "X-Powered-By" not in r.headers
        assert_no_leak(r.content)
        for value in r.headers.values():
            assert "Werkzeug" not in value and "Python/" not in value and "Flask" not in value
