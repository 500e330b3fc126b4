"""Serving settings: every limit and option of the endpoint, with its documented default."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any


@dataclass
class Settings:
    """Server settings; every limit here is documented in the README and set by CLI flags."""

    release_dir: Path = Path("build")
    engine: str = "oxigraph"
    time_limit: float = 10.0  # seconds per query, including waiting for a free executor
    body_limit: int = 1_000_000  # bytes per request body
    url_limit: int = 8190  # bytes per GET query string (414 beyond; POST long queries)
    row_limit: int = 10_000  # rows (SELECT) or triples (CONSTRUCT/DESCRIBE) per response
    executors: int = 4  # query processes per server process
    access_log: bool = True
    base_iri: str = "https://w3id.org/cytokg/"  # namespace whose IRIs resolve at this server's root
    queries_dir: Path = Path("queries")  # competency questions shown as examples on /query
    store: str | None = None  # None: release in memory; "oxigraph:PATH" or "sparql:URL"
    cache_bytes: int = 64_000_000  # response cache per server process (0 disables)
    memory_limit: int = 1 << 30  # bytes a query process may allocate beyond the loaded store
    slow_after: float = 0.1  # CPU seconds a query may use before it is demoted (0: never)
    slow_lane: int = 2  # demoted queries per server process that get their own process+thread

    @property
    def namespace(self) -> str:
        """``base_iri`` ending in ``/`` or ``#``, the prefix our terms' IRIs start with."""
        return self.base_iri if self.base_iri.endswith(("/", "#")) else self.base_iri + "/"

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> Settings:
        """Build settings from a dict, ignoring keys that are not settings."""
        names = {f.name for f in fields(cls)}
        known = {k: v for k, v in values.items() if k in names}
        for name in ("release_dir", "queries_dir"):
            if name in known:
                known[name] = Path(known[name])
        return cls(**known)

    @classmethod
    def from_env(cls) -> Settings:
        """Read CYTOKG_* environment variables so ``flask --app server run`` is configurable."""
        env = os.environ
        s = cls()
        s.release_dir = Path(env.get("CYTOKG_RELEASE_DIR", str(s.release_dir)))
        s.engine = env.get("CYTOKG_ENGINE", s.engine)
        s.time_limit = float(env.get("CYTOKG_TIME_LIMIT", s.time_limit))
        s.body_limit = int(env.get("CYTOKG_BODY_LIMIT", s.body_limit))
        s.url_limit = int(env.get("CYTOKG_URL_LIMIT", s.url_limit))
        s.row_limit = int(env.get("CYTOKG_ROW_LIMIT", s.row_limit))
        s.executors = int(env.get("CYTOKG_EXECUTORS", s.executors))
        s.base_iri = env.get("CYTOKG_BASE_IRI", s.base_iri)
        s.queries_dir = Path(env.get("CYTOKG_QUERIES_DIR", str(s.queries_dir)))
        s.store = env.get("CYTOKG_STORE") or s.store
        s.cache_bytes = int(env.get("CYTOKG_CACHE_BYTES", s.cache_bytes))
        s.memory_limit = int(env.get("CYTOKG_MEMORY_LIMIT", s.memory_limit))
        s.slow_after = float(env.get("CYTOKG_SLOW_AFTER", s.slow_after))
        s.slow_lane = int(env.get("CYTOKG_SLOW_LANE", s.slow_lane))
        return s
