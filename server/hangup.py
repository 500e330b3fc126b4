"""Whether the client of a running request has gone away, so its query can be stopped.

WSGI gives an application no handle on its connection, and Granian closes a connection as
soon as its client does while the request's thread keeps running.  So the connection is
found among this server process's own sockets once, when a query outlives its budget: a
server-side TCP socket (local port = the listening port) holding a request still unanswered
(nothing sent on it yet, or data received after the last data sent) whose last data arrived
just before the request started, by the kernel's TCP_INFO clock.  A connection counts as gone
when its descriptor no longer refers to the same socket, or when the peer has closed its side.
One matching connection is tracked alone.  When several requests arrived within the clock's
resolution (clients that start together, time out together and reconnect together), the request
tracks all of them and counts as gone only once every one is gone: its own connection is among
them, so it is never stopped while its client is still there.  A request that matches no
connection is never stopped.
"""

from __future__ import annotations

import contextlib
import os
import socket
import struct
import threading
import time

#: struct tcp_info (linux/tcp.h): state at byte 0; tcpi_last_data_sent at 44 and
#: tcpi_last_data_recv at 52, milliseconds ago; tcpi_bytes_acked (u64) at 120.
_TCP_INFO_SIZE = 128
_TIMES = struct.Struct("=I4xI")
_ACKED = struct.Struct("=Q")
_ESTABLISHED, _CLOSE_WAIT = 1, 8
#: The kernel's clock has jiffy resolution (4 ms at HZ=250): allow that much either way.
_TICK_MS = 8
#: The longest wait between a request's bytes arriving and its handler starting.
_MAX_QUEUE_MS = 2000
TCP_INFO = getattr(socket, "TCP_INFO", 11)

_claimed: set[int] = set()
_claimed_lock = threading.Lock()


def _tcp_info(fd: int, port: int | None) -> tuple[int, int, int, int] | None:
    """(state, ms since data was last sent, ms since data was last received, bytes of ours the
    peer acknowledged) of a TCP socket.

    None unless ``fd`` is a TCP socket whose local port is ``port`` (when given).
    """
    try:
        sock = socket.socket(fileno=os.dup(fd))
    except OSError:
        return None
    try:
        if sock.family not in (socket.AF_INET, socket.AF_INET6) or sock.type != socket.SOCK_STREAM:
            return None
        if port is not None and sock.getsockname()[1] != port:
            return None
        info = sock.getsockopt(socket.IPPROTO_TCP, TCP_INFO, _TCP_INFO_SIZE)
    except OSError:
        return None
    finally:
        sock.close()  # closes the duplicate only
    sent, received = _TIMES.unpack_from(info, 44)
    acked = _ACKED.unpack_from(info, 120)[0] if len(info) >= 128 else -1
    return info[0], sent, received, acked


def _socket_inode(fd: int) -> int | None:
    """The inode of the socket ``fd`` refers to in this process, or None."""
    try:
        target = os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        return None
    if not target.startswith("socket:["):
        return None
    return int(target[8:-1])


def find_connections(started: float, port: int | None) -> list[tuple[int, int]]:
    """(descriptor, inode) of the connections whose unanswered request may be the one that
    began at ``started``: the best fit and any other within the clock's resolution of it.

    ``started`` is the request's monotonic start time in this process; ``port`` the local
    port the server listens on.  Empty when no socket fits.
    """
    age_ms = (time.monotonic() - started) * 1000
    fits: list[tuple[float, int, int]] = []
    try:
        names = os.listdir("/proc/self/fd")
    except OSError:
        return []
    with _claimed_lock:
        claimed = set(_claimed)
    for name in names:
        fd = int(name)
        inode = _socket_inode(fd)
        if inode is None or inode in claimed:
            continue
        info = _tcp_info(fd, port)
        if info is None:
            continue
        state, sent_ago, received_ago, acked = info
        if state != _ESTABLISHED or (acked != 0 and received_ago >= sent_ago):
            continue  # closed, or its last request was (as far as the clock tells) answered
        gap = received_ago - age_ms  # how long before the handler started its bytes came
        if -_TICK_MS <= gap <= _MAX_QUEUE_MS:
            fits.append((abs(gap), fd, inode))
    if not fits:
        return []
    best = min(gap for gap, _, _ in fits)
    return [(fd, inode) for gap, fd, inode in sorted(fits) if gap - best <= 2 * _TICK_MS]


def _gone(fd: int, inode: int) -> bool:
    """Whether the connection once at ``fd`` with ``inode`` is closed or half-closed by its peer."""
    if _socket_inode(fd) != inode:
        return True  # the server closed it when the client did
    info = _tcp_info(fd, None)
    return info is not None and info[0] == _CLOSE_WAIT


class Hangup:
    """A callable telling whether the client of the request started at ``started`` is gone.

    The first call looks the connection up; later calls only check it (or, when several
    requests arrived together, all of the candidates).  ``release()`` when the request ends,
    so the connection can be matched to a later request.
    """

    def __init__(self, started: float, port: int | None) -> None:
        """Remember when the request started and the listening port."""
        self.started = started
        self.port = port
        self.looked = False
        self.tracked: list[tuple[int, int]] = []  # (descriptor, inode) of each candidate
        self.claimed: int | None = None  # the inode claimed by an unambiguous match

    def __call__(self) -> bool:
        """True once every tracked connection is gone; False while one is open or none is known."""
        if not self.looked:
            self.looked = True
            found = find_connections(self.started, self.port)
            if len(found) == 1:
                with _claimed_lock:
                    if found[0][1] not in _claimed:
                        _claimed.add(found[0][1])
                        self.claimed = found[0][1]
                        self.tracked = found
            else:  # ambiguous: shared with the other requests that arrived together, unclaimed
                self.tracked = found
            return False
        return bool(self.tracked) and all(_gone(fd, inode) for fd, inode in self.tracked)

    def release(self) -> None:
        """Forget the tracked connections."""
        if self.claimed is not None:
            with _claimed_lock, contextlib.suppress(KeyError):
                _claimed.remove(self.claimed)
        self.claimed = None
        self.tracked = []


def server_port(environ: dict[str, object]) -> int | None:
    """The local port of the request's connection (the one the server listens on), if known."""
    try:
        return int(str(environ.get("SERVER_PORT")))
    except ValueError:
        return None
