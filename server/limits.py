"""Time, size and row limits: queries run in killable pre-forked executor processes.

pyoxigraph cannot cancel a running query from another thread, so each server
process keeps a small pool of executor processes forked from it (they share the
loaded store copy-on-write).  A request hands its query to an idle executor and
waits at most until its deadline; an executor that overruns is killed with
SIGKILL and replaced by a fresh fork, which takes milliseconds since the store
is already in memory.  Other requests keep being answered by the other
executors meanwhile.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import queue
import resource
import signal
import threading
import time
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, Pipe

from kg.store import QueryEngine, QuerySyntaxError

from . import guard

log = logging.getLogger("cytokg.server")


@dataclass(frozen=True)
class Job:
    """One query to run, with the dataset and formats already settled by the protocol layer."""

    query: str
    default_graphs: tuple[str, ...] | None
    named_graphs: tuple[str, ...] | None
    tabular_format: str | None  # token for SELECT/ASK, None if not acceptable
    graph_format: str | None  # token for CONSTRUCT/DESCRIBE, None if not acceptable
    row_limit: int | None


@dataclass
class Reply:
    """What an executor sends back: a status, a body or message, and result facts."""

    status: int
    body: bytes = b""
    fmt: str | None = None
    count: int = 0
    truncated: bool = False
    message: str = ""
    headers: dict[str, str] = field(default_factory=dict)


class QueryTimeout(Exception):
    """The query ran past its deadline and its executor was killed."""


class PoolBusy(Exception):
    """No executor became free before the deadline."""


class ExecutorCrashed(Exception):
    """The executor died while running the query (a server fault)."""


def execute(engine: QueryEngine, job: Job) -> Reply:
    """Inspect, run and serialise one query inside an executor process."""
    try:
        inspection = guard.inspect_query(job.query)
        default, named = job.default_graphs, job.named_graphs
        if inspection.has_from:
            from_default, from_named = guard.dataset_clause(job.query)
            guard.check_graphs(from_default, engine.graphs, "FROM")
            guard.check_graphs(from_named, engine.graphs, "FROM NAMED")
            if default is None and named is None:  # Protocol 2.1.4: protocol dataset wins
                default, named = tuple(from_default), tuple(from_named)
        result = engine.query(job.query, default_graphs=default, named_graphs=named)
    except guard.UpdateRefused as exc:
        return Reply(400, message=str(exc))
    except guard.Refused as exc:
        return Reply(400, message=str(exc))
    except QuerySyntaxError as exc:
        return Reply(400, message=f"Query parse error: {exc}")
    try:
        fmt = job.graph_format if result.kind == "graph" else job.tabular_format
        if fmt is None:
            what = "graph (CONSTRUCT/DESCRIBE)" if result.kind == "graph" else "SELECT/ASK"
            return Reply(406, message=f"No acceptable format for a {what} result.")
        out = result.serialize(fmt, job.row_limit)
    except QuerySyntaxError as exc:  # some engines only detect errors while iterating
        return Reply(400, message=f"Query error: {exc}")
    return Reply(200, out.body, fmt, out.count, out.truncated)


def _safe_execute(engine: QueryEngine, job: Job) -> Reply:
    """Run ``execute`` turning unexpected faults into a generic 500 that is logged."""
    try:
        return execute(engine, job)
    except Exception:
        log.exception("query execution fault")
        return Reply(500, message="Internal server error while running the query; logged.")


def _orphan_watchdog(parent: int) -> None:
    """Exit this executor as soon as its server process is gone (the engine frees the GIL)."""
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(0)


def cap_memory(extra: int) -> None:
    """Let this query process grow by at most `extra` bytes beyond what it maps at the fork.

    A query that needs more fails to allocate and its process dies; the pool replaces it and the
    client gets a 503, so one greedy query cannot take the machine's memory from the others.
    """
    with open("/proc/self/status", encoding="ascii") as status:
        mapped = next(int(line.split()[1]) * 1024 for line in status
                      if line.startswith("VmSize:"))
    resource.setrlimit(resource.RLIMIT_AS, (mapped + extra, mapped + extra))


def _child_main(conn: Connection, engine: QueryEngine) -> None:
    """Executor loop: serve jobs until the parent goes away."""
    for sig in (
        signal.SIGTERM,
        signal.SIGQUIT,
        signal.SIGHUP,
        signal.SIGUSR1,
        signal.SIGUSR2,
        signal.SIGCHLD,
        signal.SIGWINCH,
        signal.SIGABRT,
    ):
        signal.signal(sig, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when we stop
    with contextlib.suppress(ValueError):
        signal.set_wakeup_fd(-1)
    keep = {0, 1, 2, conn.fileno()}
    try:  # drop inherited sockets and other executors' pipes
        for name in os.listdir("/proc/self/fd"):
            fd = int(name)
            if fd not in keep:
                with contextlib.suppress(OSError):
                    os.close(fd)
    except OSError:
        pass
    parent = os.getppid()
    # A query runs without returning to the loop below; if the worker dies meanwhile (killed,
    # OOM), this watchdog ends the orphan at once instead of letting it run unbounded.
    threading.Thread(target=_orphan_watchdog, args=(parent,), daemon=True).start()
    while True:
        if not conn.poll(1.0):
            if os.getppid() != parent:
                return
            continue
        try:
            job = conn.recv()
        except (EOFError, OSError):
            return
        conn.send(_safe_execute(engine, job))


@dataclass
class _Executor:
    """Handle on one executor process."""

    pid: int
    conn: Connection


class ExecutorPool:
    """A fixed number of killable executor processes, created lazily per server process."""

    def __init__(self, engine: QueryEngine, size: int, memory_limit: int | None = None) -> None:
        """Remember the engine to fork with; no process starts until first use."""
        self.engine = engine
        self.size = max(1, size)
        self.memory_limit = memory_limit
        self._lock = threading.Lock()
        self._owner: int | None = None
        self._idle: queue.SimpleQueue[_Executor] = queue.SimpleQueue()
        self._all: dict[int, _Executor] = {}

    def _spawn(self) -> _Executor:
        """Fork one executor sharing the already loaded store."""
        parent_end, child_end = Pipe(duplex=True)
        pid = os.fork()
        if pid == 0:  # executor process
            code = 0
            try:
                parent_end.close()
                if self.memory_limit:
                    cap_memory(self.memory_limit)
                _child_main(child_end, self.engine)
            except BaseException:
                code = 1
            finally:
                os._exit(code)
        child_end.close()
        executor = _Executor(pid, parent_end)
        self._all[pid] = executor
        return executor

    def start(self) -> None:
        """Start all executors now (called in each server worker once it forks)."""
        with self._lock:
            if self._owner == os.getpid():
                return
            # Executors inherited from another process belong to it; forget them.
            self._idle = queue.SimpleQueue()
            self._all = {}
            self._owner = os.getpid()
            for _ in range(self.size):
                self._idle.put(self._spawn())
            atexit.register(self.close)

    def _retire(self, executor: _Executor) -> None:
        """Kill and reap one executor, then put a fresh one in its place."""
        with contextlib.suppress(ProcessLookupError):
            os.kill(executor.pid, signal.SIGKILL)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(executor.pid, 0)
        executor.conn.close()
        with self._lock:
            self._all.pop(executor.pid, None)
            if self._owner == os.getpid():
                self._idle.put(self._spawn())

    def run(self, job: Job, deadline: float) -> Reply:
        """Run ``job`` on an idle executor, killing it if ``deadline`` (monotonic) passes."""
        self.start()
        try:
            executor = self._idle.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            raise PoolBusy from None
        try:
            executor.conn.send(job)
            if executor.conn.poll(max(0.0, deadline - time.monotonic())):
                reply: Reply = executor.conn.recv()
                self._idle.put(executor)
                return reply
        except (EOFError, OSError) as exc:
            log.error("executor %d died: %s", executor.pid, exc)
            self._retire(executor)
            raise ExecutorCrashed from None
        log.warning("executor %d killed: query ran past its time limit", executor.pid)
        self._retire(executor)
        raise QueryTimeout

    def close(self) -> None:
        """Kill every executor this process started (at worker exit)."""
        with self._lock:
            if self._owner != os.getpid():
                return
            executors = list(self._all.values())
            self._all = {}
            self._owner = None
        for executor in executors:
            try:
                os.kill(executor.pid, signal.SIGKILL)
                os.waitpid(executor.pid, 0)
            except (ProcessLookupError, ChildProcessError):
                pass
            executor.conn.close()
