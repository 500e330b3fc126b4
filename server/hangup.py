"""Whether the client of a running request has gone away, so its query can be stopped.

WSGI gives an application no handle on its connection, and Granian closes a connection as
soon as its client does while the request's thread keeps running.  So the connection is
found among this server process's own sockets once, when a query outlives its budget: a
server-side TCP socket (local port = the listening port) holding a request still unanswered
(nothing sent on it yet, or data received after the last data sent) whose last data arrived
just before the request started, by the kernel's TCP_INFO clock.  Only an unambiguous match
is tracked; from then on the request's client counts as gone when that descriptor no longer
refers to the same socket, or when the peer has closed its side.  A request that cannot be
matched is never stopped.
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


def find_connection(started: float, port: int | None) -> tuple[int, int] | None:
    """(descriptor, inode) of the one connection whose unanswered request began at ``started``.

    ``started`` is the request's monotonic start time in this process; ``port`` the local
    port the server listens on.  None when no socket, or more than one, fits.
    """
    age_ms = (time.monotonic() - started) * 1000
    fits: list[tuple[float, int, int]] = []
    try:
        names = os.listdir("/proc/self/fd")
    except OSError:
        return None
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
            fits.append((gap, fd, inode))
    if not fits:
        return None
    fits.sort(key=lambda fit: abs(fit[0]))
    if len(fits) > 1 and abs(fits[1][0]) - abs(fits[0][0]) <= 2 * _TICK_MS:
        return None  # two requests arrived together: do not guess
    return fits[0][1], fits[0][2]


class Hangup:
    """A callable telling whether the client of the request started at ``started`` is gone.

    The first call looks the connection up; later calls only check it.  ``release()`` when
    the request ends, so the connection can be matched to a later request.
    """

    def __init__(self, started: float, port: int | None) -> None:
        """Remember when the request started and the listening port."""
        self.started = started
        self.port = port
        self.looked = False
        self.fd: int | None = None
        self.inode: int | None = None

    def __call__(self) -> bool:
        """True once the tracked connection is closed; False while open or unknown."""
        if not self.looked:
            self.looked = True
            found = find_connection(self.started, self.port)
            if found is not None:
                with _claimed_lock:
                    if found[1] not in _claimed:
                        _claimed.add(found[1])
                        self.fd, self.inode = found
            return False
        if self.fd is None:
            return False
        if _socket_inode(self.fd) != self.inode:
            return True  # the server closed it when the client did
        info = _tcp_info(self.fd, None)
        return info is not None and info[0] == _CLOSE_WAIT

    def release(self) -> None:
        """Forget the tracked connection."""
        if self.inode is not None:
            with _claimed_lock, contextlib.suppress(KeyError):
                _claimed.remove(self.inode)
            self.fd = self.inode = None


def server_port(environ: dict[str, object]) -> int | None:
    """The local port of the request's connection (the one the server listens on), if known."""
    try:
        return int(str(environ.get("SERVER_PORT")))
    except ValueError:
        return None
