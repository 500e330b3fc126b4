"""Access lines: one per request on stderr, for answers from Flask and from the response cache."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from srv_helpers import make_app

from server import runtime

QUERY = "ASK { ?s ?p ?o } # access-log probe"
LINE = re.compile(r'^127\.0\.0\.1 "GET (?P<path>\S+)" (?P<status>\d{3}) (?P<size>\d+|-) '
                  r"(?P<ms>\d+\.\d)ms$")
CLIENT = {"REMOTE_ADDR": "127.0.0.1"}


@pytest.fixture()
def logged_app(release_dir: Path) -> Iterator[Flask]:
    """An app that writes access lines (and caches answers), its executors stopped after."""
    app = make_app(release_dir, access_log=True, cache_bytes=1_000_000)
    yield app
    runtime(app).pool.close()


def log_lines(err: str) -> list[re.Match[str]]:
    """The access lines among what the app wrote to stderr."""
    return [m for line in err.splitlines() if (m := LINE.match(line))]


def test_cached_and_uncached_answers_each_write_one_line(
    logged_app: Flask, capfd: pytest.CaptureFixture[str]
) -> None:
    client = logged_app.test_client()
    first = client.get("/sparql", query_string={"query": QUERY}, environ_base=CLIENT)
    second = client.get("/sparql", query_string={"query": QUERY}, environ_base=CLIENT)
    assert first.status_code == second.status_code == 200
    assert runtime(logged_app).cache.hits == 1  # the second answer came from the cache
    lines = log_lines(capfd.readouterr().err)
    assert [m["status"] for m in lines] == ["200", "200"]
    assert lines[0]["path"] == lines[1]["path"]
    assert lines[0]["path"].startswith("/sparql?query=ASK")
    assert lines[0]["size"] == lines[1]["size"] == str(len(first.data))


def test_errors_and_pages_are_logged_with_their_status(
    logged_app: Flask, capfd: pytest.CaptureFixture[str]
) -> None:
    client = logged_app.test_client()
    assert client.get("/sparql", query_string={"query": "ASK {"},
                      environ_base=CLIENT).status_code == 400
    assert client.get("/health", environ_base=CLIENT).status_code == 200
    lines = log_lines(capfd.readouterr().err)
    assert [(m["path"].split("?")[0], m["status"]) for m in lines] == [
        ("/sparql", "400"), ("/health", "200")]


def test_a_very_long_path_is_logged_without_its_query_string(
    logged_app: Flask, capfd: pytest.CaptureFixture[str]
) -> None:
    long_query = "ASK { ?s ?p ?o } #" + "x" * 400
    logged_app.test_client().get("/sparql", query_string={"query": long_query},
                                 environ_base=CLIENT)
    assert [m["path"] for m in log_lines(capfd.readouterr().err)] == ["/sparql"]


def test_a_newline_in_the_path_cannot_forge_a_log_line(
    logged_app: Flask, capfd: pytest.CaptureFixture[str]
) -> None:
    logged_app.test_client().get("/IL6%0A127.0.0.1%20%22GET%20/forged%22%20200",
                                 environ_base=CLIENT)
    err = capfd.readouterr().err
    assert len(err.splitlines()) == 1, err
    assert "\\x0a127.0.0.1" in err and "/forged" in err  # escaped, on the one real line
