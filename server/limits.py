"""Time, size and row limits: queries run in killable pre-forked executor processes.

pyoxigraph cannot cancel a running query from another thread, so each server
process keeps a small pool of executor processes forked from it (they share the
loaded store copy-on-write).  A request hands its query to an idle executor and
waits at most until its deadline; an executor that overruns is killed with
SIGKILL and replaced by a fresh fork, which takes milliseconds since the store
is already in memory.  Other requests keep being answered by the other
executors meanwhile.

Under abuse two more rules keep normal queries fast.  A query that has used more than a
short CPU budget (``slow_after``) is demoted: its process gets the idle scheduling class (it
runs only on CPU time nothing else wants) and moves to a small slow lane, a fresh executor
taking its place, so normal queries always find a free executor at full priority.  The
budget counts CPU time, not waiting, so a light query on a busy machine is never demoted.
And a request whose client has gone away (``gone`` says so) has its executor killed at
once, so abandoned work never piles up until the time limit.

The hand-off is a length-prefixed ``marshal`` frame over a socket pair each way: the query
text and its settings in, the status and the already serialised answer bytes out.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import marshal
import os
import queue
import resource
import signal
import socket
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

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


class QueryAbandoned(QueryTimeout):
    """The client went away while its query ran, so the query's executor was killed."""


#: A frame is its length (4 bytes, big-endian) then a ``marshal`` dump of a tuple of plain
#: values: both ends run the same Python, and marshal is several times cheaper than pickle.
_LENGTH = struct.Struct("!I")
#: Bytes asked of the kernel per read of a reply.
_CHUNK = 1 << 18


def _job_frame(job: Job) -> bytes:
    """The wire form of a job: the query text and its settings."""
    data = marshal.dumps((job.query, job.default_graphs, job.named_graphs, job.tabular_format,
                          job.graph_format, job.row_limit))
    return _LENGTH.pack(len(data)) + data


def _reply_frame(reply: Reply, cpu: float) -> bytes:
    """The wire form of a reply (status, answer bytes, result facts) and the CPU time so far."""
    data = marshal.dumps((reply.status, reply.body, reply.fmt, reply.count, reply.truncated,
                          reply.message, reply.headers, cpu))
    return _LENGTH.pack(len(data)) + data


def _own_cpu() -> float:
    """CPU seconds this process has used (user + system), as the kernel accounts them."""
    times = os.times()
    return times.user + times.system


_TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """CPU seconds process ``pid`` has used (user + system), from /proc; 0 if unknown."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            fields = f.read().rsplit(b")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / _TICK
    except (OSError, IndexError, ValueError):
        return 0.0


class _Channel:
    """One end of an executor's socket pair, reading whole frames before a deadline."""

    def __init__(self, sock: socket.socket) -> None:
        """Wrap ``sock``; bytes of a frame not yet complete wait in ``pending``."""
        self.sock = sock
        self.pending = bytearray()

    def fileno(self) -> int:
        """The socket's descriptor (kept open in the executor)."""
        return self.sock.fileno()

    def send(self, frame: bytes, until: float | None = None) -> None:
        """Write a whole frame (before the monotonic time ``until``, if given)."""
        self.sock.settimeout(None if until is None else max(0.001, until - time.monotonic()))
        self.sock.sendall(frame)

    def receive(self, until: float | None) -> tuple[object, ...] | None:
        """The next frame's tuple, or None if ``until`` (monotonic) passes first.

        Raises EOFError when the other end has closed (its process died).
        """
        pending = self.pending
        while True:
            if len(pending) >= 4:
                size = _LENGTH.unpack_from(pending)[0]
                if len(pending) >= 4 + size:
                    value = marshal.loads(memoryview(pending)[4:4 + size])
                    del pending[:4 + size]
                    return value  # type: ignore[no-any-return]
            if until is None:
                self.sock.settimeout(None)
            else:
                left = until - time.monotonic()
                if left <= 0:
                    return None
                self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(_CHUNK)
            except TimeoutError:
                return None
            if not chunk:
                raise EOFError("executor channel closed")
            pending += chunk

    def close(self) -> None:
        """Close this end."""
        self.sock.close()


def lower_priority(pid: int) -> None:
    """Let ``pid`` run only on CPU time no full-priority process wants (Linux SCHED_IDLE).

    Where the idle class is unavailable the process gets the weakest nice value instead.
    """
    with contextlib.suppress(OSError, AttributeError):
        os.setpriority(os.PRIO_PROCESS, pid, 19)
    with contextlib.suppress(OSError, AttributeError):
        os.sched_setscheduler(pid, os.SCHED_IDLE, os.sched_param(0))  # type: ignore[attr-defined]


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


def _child_main(conn: _Channel, engine: QueryEngine) -> None:
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
        try:
            fields = conn.receive(time.monotonic() + 1.0)
        except (EOFError, OSError):
            return
        if fields is None:
            if os.getppid() != parent:
                return
            continue
        reply = _safe_execute(engine, Job(*fields))  # type: ignore[arg-type]
        try:
            conn.send(_reply_frame(reply, _own_cpu()))
        except OSError:
            return


@dataclass
class _Executor:
    """Handle on one executor process."""

    pid: int
    conn: _Channel
    demoted: bool = False  # its priority was lowered: it never serves another query
    slow: bool = False  # it moved to the slow lane and a fresh executor took its place
    cpu: float = 0.0  # CPU seconds it had used when its last query ended


class ExecutorPool:
    """Killable executor processes, created lazily per server process, with a slow lane.

    ``size`` executors serve queries at full priority.  With ``slow_after`` set, a query that
    has used that many seconds of CPU is demoted (lowest CPU priority); while fewer than
    ``slow_lane`` demoted queries run, it also leaves the pool for the slow lane and a fresh
    executor takes its place.  A demoted executor is killed once its query ends, so it never
    serves another query at low priority.  At most ``size + slow_lane`` processes exist.
    """

    def __init__(
        self,
        engine: QueryEngine,
        size: int,
        memory_limit: int | None = None,
        *,
        slow_after: float | None = None,
        slow_lane: int = 2,
        watch_every: float = 0.05,
    ) -> None:
        """Remember the engine to fork with; no process starts until first use."""
        self.engine = engine
        self.size = max(1, size)
        self.memory_limit = memory_limit
        self.slow_after = slow_after if slow_after and slow_after > 0 else None
        self.slow_lane = max(0, slow_lane)
        self.watch_every = watch_every
        self._lock = threading.Lock()
        self._owner: int | None = None
        self._idle: queue.SimpleQueue[_Executor] = queue.SimpleQueue()
        self._all: dict[int, _Executor] = {}
        self._slow = 0

    def _spawn(self) -> _Executor:
        """Fork one executor sharing the already loaded store."""
        parent_end, child_end = socket.socketpair()
        pid = os.fork()
        if pid == 0:  # executor process
            code = 0
            try:
                parent_end.close()
                if self.memory_limit:
                    cap_memory(self.memory_limit)
                _child_main(_Channel(child_end), self.engine)
            except BaseException:
                code = 1
            finally:
                os._exit(code)
        child_end.close()
        executor = _Executor(pid, _Channel(parent_end))
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
            self._slow = 0
            self._owner = os.getpid()
            for _ in range(self.size):
                self._idle.put(self._spawn())
            atexit.register(self.close)

    def _kill(self, executor: _Executor) -> None:
        """Kill and reap one executor."""
        with contextlib.suppress(ProcessLookupError):
            os.kill(executor.pid, signal.SIGKILL)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(executor.pid, 0)
        executor.conn.close()

    def _retire(self, executor: _Executor) -> None:
        """Kill and reap one executor; put a fresh one in its place unless one already is."""
        self._kill(executor)
        with self._lock:
            self._all.pop(executor.pid, None)
            if executor.slow:
                self._slow -= 1  # its replacement was forked when it was demoted
            elif self._owner == os.getpid():
                self._idle.put(self._spawn())

    def _demote(self, executor: _Executor) -> None:
        """Lower a long query's priority and, if the slow lane has room, replace it in the pool."""
        lower_priority(executor.pid)
        executor.demoted = True
        with self._lock:
            if self._owner != os.getpid() or self._slow >= self.slow_lane:
                return
            self._slow += 1
            executor.slow = True
            self._idle.put(self._spawn())

    def _finish(self, executor: _Executor) -> None:
        """Give an executor whose query ended back to the pool (a demoted one is replaced)."""
        if executor.demoted:
            self._retire(executor)
        else:
            self._idle.put(executor)

    def run(self, job: Job, deadline: float, gone: Callable[[], bool] | None = None) -> Reply:
        """Run ``job`` on an idle executor, killing it if ``deadline`` (monotonic) passes.

        A query still running is looked at every ``watch_every`` seconds: demoted once it has
        used ``slow_after`` CPU seconds, and stopped when ``gone`` (if given) says its client
        has gone away, with :class:`QueryAbandoned`.  A quick query is never looked at.
        """
        self.start()
        try:
            executor = self._idle.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            raise PoolBusy from None
        try:
            executor.conn.send(_job_frame(job), deadline)
            fields = executor.conn.receive(min(deadline, time.monotonic() + self.watch_every))
            while fields is None and time.monotonic() < deadline:
                if (self.slow_after is not None and not executor.demoted
                        and cpu_seconds(executor.pid) - executor.cpu >= self.slow_after):
                    self._demote(executor)
                if gone is not None and gone():
                    log.warning("executor %d killed: its client went away", executor.pid)
                    self._retire(executor)
                    raise QueryAbandoned
                fields = executor.conn.receive(min(deadline, time.monotonic() + self.watch_every))
        except TimeoutError:  # the job could not even be written before the deadline
            fields = None
        except (EOFError, OSError) as exc:
            log.error("executor %d died: %s", executor.pid, exc)
            self._retire(executor)
            raise ExecutorCrashed from None
        if fields is None:
            log.warning("executor %d killed: query ran past its time limit", executor.pid)
            self._retire(executor)
            raise QueryTimeout
        executor.cpu = fields[-1]  # type: ignore[assignment]
        self._finish(executor)
        return Reply(*fields[:-1])  # type: ignore[arg-type]

    def close(self) -> None:
        """Kill every executor this process started (at worker exit)."""
        with self._lock:
            if self._owner != os.getpid():
                return
            executors = list(self._all.values())
            self._all = {}
            self._owner = None
            self._slow = 0
        for executor in executors:
            try:
                os.kill(executor.pid, signal.SIGKILL)
                os.waitpid(executor.pid, 0)
            except (ProcessLookupError, ChildProcessError):
                pass
            executor.conn.close()
