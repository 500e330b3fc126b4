"""A small asyncio HTTP/1.1 load client, so the load generator costs the servers little CPU.

Keep-alive connections, one per simulated client, send GET requests and read
responses framed by Content-Length or chunked transfer coding.  Only 127.0.0.1 is
ever contacted; every run is bounded both in time and in request count.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import quote

ACCEPT = "application/sparql-results+json, text/turtle;q=0.9"


@dataclass
class Response:
    """Status, headers (lower-cased names) and body of one HTTP response."""

    status: int
    headers: dict[str, str]
    body: bytes


@dataclass
class LoadResult:
    """What a fixed-time load run measured."""

    clients: int
    seconds: float
    ok: int = 0
    errors: int = 0
    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    p50: float | None = None  # set by a load generator that reports percentiles only
    p99: float | None = None

    @property
    def throughput(self) -> float:
        """Successful requests per second."""
        return self.ok / self.seconds if self.seconds else 0.0

    def percentile(self, q: float) -> float:
        """The q-th latency percentile, from every latency or from the generator's report."""
        given = {50: self.p50, 99: self.p99}.get(int(q))
        return given if given is not None else percentile(self.latencies, q)


class Connection:
    """One keep-alive HTTP/1.1 connection to a loopback server."""

    def __init__(self, port: int, host: str = "127.0.0.1") -> None:
        """Remember where to connect; the socket opens on first use."""
        if host != "127.0.0.1":
            raise ValueError("benchmarks talk to 127.0.0.1 only")
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def _open(self) -> None:
        """Open the TCP connection."""
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)

    async def close(self) -> None:
        """Close the TCP connection if open."""
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(OSError):
                await self.writer.wait_closed()
        self.reader = self.writer = None

    async def get(self, path: str, accept: str = ACCEPT) -> Response:
        """Send one GET and read the whole response, reconnecting once on a dropped socket."""
        for attempt in (0, 1):
            if self.writer is None:
                await self._open()
            assert self.reader is not None and self.writer is not None
            self.writer.write(
                f"GET {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
                f"Accept: {accept}\r\nConnection: keep-alive\r\n\r\n".encode()
            )
            try:
                return await self._read()
            except (asyncio.IncompleteReadError, ConnectionError):
                await self.close()
                if attempt:
                    raise
        raise AssertionError("unreachable")

    async def _read(self) -> Response:
        """Read a status line, headers and a Content-Length or chunked body."""
        assert self.reader is not None
        status_line = await self.reader.readuntil(b"\r\n")
        if not status_line.strip():
            raise ConnectionError("empty status line")
        status = int(status_line.split(b" ", 2)[1])
        headers: dict[str, str] = {}
        while True:
            line = await self.reader.readuntil(b"\r\n")
            if line == b"\r\n":
                break
            name, _, value = line.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        if headers.get("transfer-encoding", "").lower() == "chunked":
            parts = []
            while True:
                size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
                if size == 0:
                    while (await self.reader.readuntil(b"\r\n")) != b"\r\n":
                        pass
                    break
                parts.append(await self.reader.readexactly(size))
                await self.reader.readexactly(2)
            body = b"".join(parts)
        else:
            body = await self.reader.readexactly(int(headers.get("content-length", "0")))
        if headers.get("connection", "").lower() == "close":
            await self.close()
        return Response(status, headers, body)


def query_path(endpoint: str, query: str) -> str:
    """The path and query string of a SPARQL Protocol GET for ``query``."""
    return f"{endpoint}?query={quote(query, safe='')}"


async def _load(
    port: int,
    endpoint: str,
    next_query: Callable[[], str],
    clients: int,
    seconds: float,
    max_requests: int,
) -> LoadResult:
    """Run ``clients`` closed-loop clients for ``seconds`` (or ``max_requests``)."""
    result = LoadResult(clients, seconds)
    stop = time.perf_counter() + seconds
    budget = [max_requests]

    async def client() -> None:
        conn = Connection(port)
        try:
            while time.perf_counter() < stop and budget[0] > 0:
                budget[0] -= 1
                path = query_path(endpoint, next_query())
                t0 = time.perf_counter()
                try:
                    resp = await conn.get(path)
                except (OSError, asyncio.IncompleteReadError, ValueError):
                    result.errors += 1
                    await conn.close()
                    continue
                took = time.perf_counter() - t0
                result.statuses[resp.status] = result.statuses.get(resp.status, 0) + 1
                if resp.status == 200:
                    result.ok += 1
                    result.latencies.append(took)
                else:
                    result.errors += 1
        finally:
            await conn.close()

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    result.seconds = time.perf_counter() - started
    return result


def load(
    port: int,
    endpoint: str,
    next_query: Callable[[], str],
    clients: int,
    seconds: float,
    max_requests: int = 1_000_000,
) -> LoadResult:
    """Closed-loop load for a fixed time against 127.0.0.1:``port``."""
    return asyncio.run(_load(port, endpoint, next_query, clients, seconds, max_requests))


def fetch(port: int, path: str, accept: str = ACCEPT) -> Response:
    """One GET on a fresh connection (for probes and answer checks)."""

    async def once() -> Response:
        conn = Connection(port)
        try:
            return await conn.get(path, accept)
        finally:
            await conn.close()

    return asyncio.run(once())


def percentile(values: list[float], q: float) -> float:
    """The ``q``-th percentile (nearest rank) of ``values``; 0 for an empty list."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


# wrk (https://github.com/wg/wrk, Debian package "wrk") drives the load from C, so the load
# generator's own cost does not cap what a fast server can show (the asyncio client above tops
# out near 5,000 requests a second on this 2-core machine).  One Lua state per wrk thread builds
# each request path; "distinct" appends a unique comment so no cache can answer.
WRK_SCRIPT = """
local paths = {%(paths)s}
local distinct = %(distinct)s
local tag = "%(tag)s"
local accept = "%(accept)s"
local n = 0
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end
function request()
  n = n + 1
  local path = paths[(n - 1) %% #paths + 1]
  if distinct then
    path = path .. "%%0A%%23%%20bench%%20" .. tag .. "-" .. tid .. "-" .. n
  end
  return wrk.format("GET", path, {["Accept"] = accept})
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '\\nWRK-JSON {"requests": %%d, "duration_us": %%d, "socket_errors": %%d, ' ..
    '"status_errors": %%d, "p50_us": %%d, "p99_us": %%d}\\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout,
    e.status, latency:percentile(50), latency:percentile(99)))
end
"""


def _lua_string(text: str) -> str:
    """A Lua string literal for an ASCII ``text`` (URL-encoded paths are ASCII)."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def wrk_load(
    port: int,
    endpoint: str,
    queries: list[str],
    distinct: bool,
    clients: int,
    seconds: float,
    tag: str = "wrk",
    wrk: str = "wrk",
) -> LoadResult:
    """Closed-loop load with wrk for a fixed time: ``clients`` connections, one request each."""
    script = WRK_SCRIPT % {
        "paths": ", ".join(_lua_string(query_path(endpoint, q)) for q in queries),
        "distinct": "true" if distinct else "false",
        "tag": tag,
        "accept": ACCEPT,
    }
    with tempfile.NamedTemporaryFile("w", suffix=".lua", encoding="ascii") as lua:
        lua.write(script)
        lua.flush()
        argv = [wrk, "-t", str(min(clients, 2)), "-c", str(clients), "-d", f"{seconds:g}s",
                "--timeout", "30s", "-s", lua.name, f"http://127.0.0.1:{port}{endpoint}"]
        out = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 60,
                             check=True).stdout
    line = next(x for x in out.splitlines() if x.startswith("WRK-JSON "))
    doc = json.loads(line.removeprefix("WRK-JSON "))
    took = doc["duration_us"] / 1e6
    bad = doc["socket_errors"] + doc["status_errors"]
    result = LoadResult(clients, took, ok=max(0, doc["requests"] - doc["status_errors"]),
                        errors=bad)
    # wrk reports percentiles, not every latency: keep them as a two-point distribution.
    result.p50 = doc["p50_us"] / 1e6
    result.p99 = doc["p99_us"] / 1e6
    return result
