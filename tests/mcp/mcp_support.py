"""Drive a real ``cytokg mcp`` server through the MCP SDK's own client, from synchronous tests.

The client lives in one event loop on a background thread for as long as the server runs, so
one server (over stdio or streamable HTTP) answers every test of a module; tests submit calls
to that loop and wait for them with a timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Coroutine
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from mcp import Client
from mcp.client.stdio import StdioServerParameters
from support import CYTOKG, REPO

sys.path.insert(0, str(REPO / "tests" / "endpoint"))  # the endpoint tests' process helpers

from srv_helpers import live_processes

#: The time limit the test servers run with: short, so the pathological query ends quickly.
TIME_LIMIT = 4.0
#: The row limit the test servers run with, so truncation is easy to reach.
ROW_LIMIT = 50
CALL_TIMEOUT = 60.0
HTTP_ANNOUNCE = re.compile(r"streamable HTTP at (http://\S+)")


def server_args(release: Path, *extra: str) -> list[str]:
    """The command line of a test server over ``release`` (never rebuilt)."""
    return ["--root", str(REPO), "--out", str(release), "mcp", "--no-build",
            "--time-limit", str(TIME_LIMIT), "--row-limit", str(ROW_LIMIT), *extra]


class Session:
    """One connected MCP client on its own event loop thread."""

    def __init__(self, target: StdioServerParameters | str) -> None:
        """Connect to the server (a stdio command, or a streamable HTTP URL)."""
        self.loop = asyncio.new_event_loop()
        self.client: Client | None = None
        self._ready: Future[None] = Future()
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, args=(target,), daemon=True)
        self._thread.start()
        self._ready.result(timeout=120)

    def _run(self, target: StdioServerParameters | str) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(self._main(target))

    async def _main(self, target: StdioServerParameters | str) -> None:
        self._stop = asyncio.Event()
        try:
            async with Client(target, read_timeout_seconds=CALL_TIMEOUT, cache=None) as client:
                self.client = client
                self._ready.set_result(None)
                await self._stop.wait()
        except BaseException as exc:
            if not self._ready.done():
                self._ready.set_exception(exc)
            else:
                raise

    def run(self, coro: Coroutine[Any, Any, Any]) -> Any:
        """Run one client coroutine on the session's loop and return its result."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=CALL_TIMEOUT)

    def call(self, name: str, arguments: dict[str, Any]) -> Any:
        """Call a tool and return the SDK's CallToolResult."""
        assert self.client is not None
        return self.run(self.client.call_tool(name, arguments))

    def close(self) -> None:
        """Disconnect (a stdio server is stopped by the SDK) and end the loop thread."""
        if self._stop is not None:
            self.loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout=30)


def stdio_session(release: Path, *extra: str) -> Session:
    """A session with a server the SDK starts as a subprocess and talks to over stdio."""
    return Session(StdioServerParameters(command=str(CYTOKG), args=server_args(release, *extra),
                                         cwd=str(REPO), env={"PATH": os.environ["PATH"]}))


class HttpServer:
    """``cytokg mcp --http --port 0`` as a subprocess, with the URL it announces."""

    def __init__(self, release: Path, *extra: str) -> None:
        """Start the server and wait (bounded) for its address."""
        self.proc = subprocess.Popen(
            [str(CYTOKG), *server_args(release, "--http", "--port", "0", *extra)],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            text=True, cwd=REPO, start_new_session=True)
        self.stderr: list[str] = []
        self.url: Future[str] = Future()
        threading.Thread(target=self._read, daemon=True).start()
        try:
            self.url.result(timeout=120)
        except BaseException:
            self.stop()
            raise

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.stderr.append(line)
            found = HTTP_ANNOUNCE.search(line)
            if found and not self.url.done():
                self.url.set_result(found.group(1))
        if not self.url.done():
            self.url.set_exception(RuntimeError("server ended: " + "".join(self.stderr)))

    def stop(self) -> int:
        """SIGTERM, then SIGKILL after 15 s; return the exit status."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=15)
        return self.proc.returncode


def children_of(pid: int) -> list[int]:
    """The live child processes of a process (its query executors), from /proc."""
    return [child for child, fields in live_processes() if int(fields[1]) == pid]


def wait_gone(pids: list[int], seconds: float = 10.0) -> list[int]:
    """The processes among ``pids`` still alive after waiting up to ``seconds``."""
    deadline = time.monotonic() + seconds
    alive = list(pids)
    while alive and time.monotonic() < deadline:
        alive = [p for p in alive if Path(f"/proc/{p}").exists()
                 and "Z" not in (Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1][:3])]
        time.sleep(0.1)
    return alive
