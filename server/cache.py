"""A response cache for the SPARQL endpoint, exact because a served release never changes.

Answers are keyed by everything that determines the response bytes: the release, the
query string, the protocol dataset, the acceptable formats and the row limit.  The
cache lives in each server (worker) process and is shared by its threads; it
is bounded in bytes and evicts the least recently used answers first.  Only complete,
successful answers are kept, so errors and time-outs are always re-evaluated.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable
from typing import Any, Generic, TypeVar

V = TypeVar("V")

#: Bytes charged per entry on top of the body and key text, for the dict and objects.
ENTRY_OVERHEAD = 400


class ResponseCache(Generic[V]):
    """A thread-safe LRU mapping bounded by the total size of its values, in bytes."""

    def __init__(self, max_bytes: int, max_entry_fraction: float = 0.125) -> None:
        """``max_bytes`` 0 disables caching; one entry may use at most a fraction of it."""
        self.max_bytes = max(0, int(max_bytes))
        self.max_entry = int(self.max_bytes * max_entry_fraction)
        self._data: OrderedDict[Hashable, tuple[V, int]] = OrderedDict()
        self._lock = threading.Lock()
        self.size = 0
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        """Number of cached answers."""
        return len(self._data)

    def get(self, key: Hashable) -> V | None:
        """The cached value for ``key`` (marking it recently used), or None."""
        if not self.max_bytes:
            return None
        with self._lock:
            entry = self._data.get(key)
            if entry is None:
                self.misses += 1
                return None
            self._data.move_to_end(key)
            self.hits += 1
            return entry[0]

    def put(self, key: Hashable, value: V, size: int) -> bool:
        """Keep ``value`` charged at ``size`` bytes unless it is too big; evict to fit."""
        cost = size + ENTRY_OVERHEAD
        if not self.max_bytes or cost > self.max_entry:
            return False
        with self._lock:
            old = self._data.pop(key, None)
            if old is not None:
                self.size -= old[1]
            self._data[key] = (value, cost)
            self.size += cost
            while self.size > self.max_bytes and self._data:
                _, (_, freed) = self._data.popitem(last=False)
                self.size -= freed
        return True

    def clear(self) -> None:
        """Forget everything (used when a process starts serving another release)."""
        with self._lock:
            self._data.clear()
            self.size = 0


StartResponse = Callable[..., Any]
Environ = dict[str, Any]


class CachedQueryGets:
    """WSGI middleware answering a repeated ``GET /sparql?query=...`` from the cache, before Flask.

    The key is the raw query string and the ``Accept`` and ``Host`` headers, the only request
    inputs a SPARQL GET answer depends on (the served release is fixed for the process; the
    Host only matters to relative IRIs, which resolve against the endpoint's URL).  Only complete
    200 answers of the query operation (those carrying ``X-Result-Count``) are stored, with
    all their headers (CORS, Vary, truncation warnings), so a hit is byte-identical to the
    answer Flask gave.  Every guard still runs on the first request; a hit skips routing,
    parsing and the executor round trip.
    """

    def __init__(
        self,
        app: Callable[[Environ, StartResponse], Iterable[bytes]],
        cache: ResponseCache[Any],
        log: Callable[[Environ, str, int, float], None] | None = None,
        path: str = "/sparql",
    ) -> None:
        """Wrap ``app``; ``log`` writes the access line of a hit (status, size, seconds)."""
        self.app = app
        self.cache = cache
        self.log = log
        self.path = path

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        """Serve a hit directly, or pass the request on and remember a cacheable answer."""
        if (
            not self.cache.max_bytes
            or environ.get("REQUEST_METHOD") != "GET"
            or environ.get("PATH_INFO") != self.path
        ):
            return self.app(environ, start_response)
        query_string = environ.get("QUERY_STRING", "")
        if "query=" not in query_string:
            return self.app(environ, start_response)
        started = time.monotonic()
        # The Host is part of the key: relative IRIs in a query resolve against it.
        key = ("GET", query_string, environ.get("HTTP_ACCEPT"), environ.get("HTTP_HOST"))
        hit = self.cache.get(key)
        if hit is not None:
            status, headers, body = hit
            start_response(status, list(headers))
            if self.log is not None:
                self.log(environ, status, len(body), time.monotonic() - started)
            return [body]
        seen: dict[str, Any] = {}

        def remember(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            seen["status"], seen["headers"] = status, headers
            return start_response(status, headers, exc_info)

        chunks = self.app(environ, remember)
        headers = seen.get("headers") or []
        if not str(seen.get("status", "")).startswith("200 ") or not any(
            name.lower() == "x-result-count" for name, _ in headers
        ):
            return chunks
        try:
            body = b"".join(chunks)
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()
        self.cache.put(key, (seen["status"], tuple(headers), body), len(body) + len(query_string))
        return [body]


class BoundedLRU(Generic[V]):
    """A thread-safe LRU mapping of at most ``maxsize`` entries, for small keyed documents.

    Used where a key comes from the client (the Host header names the service description's
    endpoint), so no sequence of requests can grow a worker's memory without bound.
    """

    def __init__(self, maxsize: int) -> None:
        """Keep at most ``maxsize`` entries (at least one)."""
        self.maxsize = max(1, int(maxsize))
        self._data: OrderedDict[Hashable, V] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        """Number of entries held (never above ``maxsize``)."""
        return len(self._data)

    def get(self, key: Hashable) -> V | None:
        """The value for ``key`` (marking it recently used), or None."""
        with self._lock:
            value = self._data.get(key)
            if value is not None:
                self._data.move_to_end(key)
            return value

    def put(self, key: Hashable, value: V) -> None:
        """Keep ``value``, evicting the least recently used entries beyond ``maxsize``."""
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self.maxsize:
                self._data.popitem(last=False)
