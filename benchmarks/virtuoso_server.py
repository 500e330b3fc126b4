"""A throw-away OpenLink Virtuoso on 127.0.0.1 for the tests and the scale benchmark."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

from kg.publishers.virtuoso import Virtuoso

INSTALL_HINT = (
    "OpenLink Virtuoso is not installed (virtuoso-t and isql-vt are missing): run the install "
    "step of .ci/run (apt-get install -y --no-install-recommends virtuoso-opensource)"
)
PASSWORD = "dba"  # a fresh database's DBA password; the server only listens on loopback


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def ini_text(root: Path, sql_port: int, http_port: int, allowed: list[Path],
             buffers: int = 20_000, time_limit: int = 1, max_rows: int = 100_000) -> str:
    """A minimal virtuoso.ini: database files under ``root``, loopback ports, ``buffers`` pages.

    Virtuoso's guide sizes buffers at about 2/3 of the memory given to it (8 kB each) and
    dirty buffers at 3/4 of them; ``max_rows`` is its row cap for one SPARQL answer.
    """
    dirs = ", ".join([".", *(str(p) for p in allowed)])
    return f"""[Database]
DatabaseFile = {root}/virtuoso.db
ErrorLogFile = {root}/virtuoso.log
LockFile = {root}/virtuoso.lck
TransactionFile = {root}/virtuoso.trx
xa_persistent_file = {root}/virtuoso.pxa
ErrorLogLevel = 7
FileExtend = 200
Striping = 0
TempStorage = TempDatabase

[TempDatabase]
DatabaseFile = {root}/virtuoso-temp.db
TransactionFile = {root}/virtuoso-temp.trx

[Parameters]
ServerPort = 127.0.0.1:{sql_port}
DisableUnixSocket = 1
CaseMode = 2
DirsAllowed = {dirs}
NumberOfBuffers = {buffers}
MaxDirtyBuffers = {buffers * 3 // 4}
ThreadsPerQuery = 2
CheckpointInterval = 0

[HTTPServer]
ServerPort = 127.0.0.1:{http_port}
ServerRoot = {root}
ServerThreads = 10
MaxKeepAlives = 10
KeepAliveTimeout = 10
Charset = UTF-8

[SPARQL]
ResultSetMaxRows = {max_rows}
MaxQueryExecutionTime = {time_limit}
"""


class VirtuosoServer:
    """``virtuoso-t +foreground`` on free loopback ports with a throw-away database."""

    def __init__(self, root: Path, allowed: list[Path], buffers: int = 20_000,
                 time_limit: int = 1, max_rows: int = 100_000) -> None:
        """Write the ini and start the server in its own process group; wait until it answers."""
        binary = shutil.which("virtuoso-t")
        isql = shutil.which("isql-vt")
        if not binary or not isql:
            raise RuntimeError(INSTALL_HINT)
        root.mkdir(parents=True, exist_ok=True)
        self.root = root
        self.sql_port, self.http_port = free_port(), free_port()
        self.ini = root / "virtuoso.ini"
        self.ini.write_text(ini_text(root, self.sql_port, self.http_port, allowed, buffers,
                                     time_limit, max_rows), encoding="utf-8")
        self.sparql = f"http://127.0.0.1:{self.http_port}/sparql"
        self.sql = Virtuoso("127.0.0.1", self.sql_port, "dba", PASSWORD, isql, timeout=600)
        self._out = (root / "stdout.log").open("wb")
        self.proc = subprocess.Popen(
            [binary, "+foreground", "+configfile", str(self.ini)],
            cwd=root, stdout=self._out, stderr=subprocess.STDOUT, start_new_session=True,
        )
        try:
            self._wait(120)
        except BaseException:
            self.stop()
            raise

    def _wait(self, seconds: float) -> None:
        """Poll /sparql until it answers (a new database initialises itself first)."""
        deadline = time.monotonic() + seconds
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"virtuoso-t exited: {self.log()[-2000:]}")
            try:
                with urllib.request.urlopen(f"{self.sparql}?query=ASK%7B%7D", timeout=2):
                    return
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"virtuoso-t did not start: {self.log()[-2000:]}"
                                       ) from None
                time.sleep(0.25)

    def log(self) -> str:
        """The server's own log, for failure messages."""
        path = self.root / "virtuoso.log"
        return path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""

    def stop(self) -> None:
        """Stop the server and anything in its process group, whatever state it is in."""
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(15)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(10)
        self._out.close()
