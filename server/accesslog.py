"""Access lines on stderr, one ``write`` per request, shared by the Flask views and the cache.

A line is written with a single ``os.write`` to the inherited descriptor: lines from the
worker processes never interleave (each is shorter than PIPE_BUF), and a request pays a
few microseconds instead of a trip through the ``logging`` machinery, which cost about a
quarter of a cached answer's time.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable
from typing import Any

from flask import Flask, Response, g, request

#: Paths longer than this are logged without their query string.
MAX_LOGGED_PATH = 300
#: Control characters (a decoded ``%0A`` in a path, say) are written escaped, so no request
#: can forge or split a log line.
_ESCAPES = {c: f"\\x{c:02x}" for c in (*range(32), 127)}


class AccessLog:
    """Writes ``remote "METHOD path" status size took`` lines to a file descriptor."""

    def __init__(self, fd: int = 2) -> None:
        """Write to ``fd`` (stderr by default, where the server's other messages go)."""
        self.fd = fd

    def write(self, remote: str, method: str, path: str, query: str, status: int | str,
              size: object, seconds: float) -> None:
        """Write one line; a failed write (a closed stderr) never fails the request."""
        full = f"{path}?{query}" if query else path
        path = (full if len(full) < MAX_LOGGED_PATH else path).translate(_ESCAPES)
        line = f'{remote or "-"} "{method} {path}" {status} {size} {seconds * 1000:.1f}ms\n'
        with contextlib.suppress(OSError):
            data = line.encode("utf-8", "replace")
            # One write of at most PIPE_BUF bytes is atomic: lines never interleave or split.
            os.write(self.fd, data if len(data) <= 4000 else data[:3999] + b"\n")

    def cache_hit(self, environ: dict[str, Any], status: str, size: int, seconds: float) -> None:
        """The line of an answer the response cache gave before Flask saw the request."""
        self.write(environ.get("REMOTE_ADDR") or "-", "GET", environ.get("PATH_INFO", ""),
                   environ.get("QUERY_STRING", ""), status.split(" ", 1)[0], size, seconds)


def init_app(app: Flask, log: AccessLog) -> Callable[[dict[str, Any], str, int, float], None]:
    """Log every Flask response; return the logger the cache middleware uses for its hits."""

    @app.before_request
    def _start_clock() -> None:
        g.started = time.monotonic()

    @app.after_request
    def _log(resp: Response) -> Response:
        took = time.monotonic() - g.get("started", time.monotonic())
        log.write(request.remote_addr or "-", request.method, request.path,
                  request.query_string.decode("latin-1"), resp.status_code,
                  resp.content_length if resp.content_length is not None else "-", took)
        return resp

    return log.cache_hit
