"""Publish a release into a SPARQL 1.1 Graph Store Protocol store (Oxigraph, Fuseki, GraphDB).

Each of our named graphs is replaced whole with an HTTP PUT of its N-Triples file
(Graph Store Protocol 5.3, indirect graph identification ``?graph=IRI``), so a
publish is idempotent and a deployment can serve the release from a clustered
store with ``cytokg serve --store sparql:URL``.
"""

from __future__ import annotations

import http.client
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlencode, urlsplit

from kg.errors import BuildError
from kg.store import release_files

CHUNK = 1 << 20


def graph_url(store_url: str, graph: str) -> str:
    """The Graph Store Protocol URL of ``graph`` under the store's service URL."""
    sep = "&" if "?" in store_url else "?"
    return f"{store_url}{sep}{urlencode({'graph': graph})}"


def put_graph(store_url: str, graph: str, path: Path, timeout: float = 600.0) -> int:
    """PUT one N-Triples file as the named graph ``graph``, streamed; return the HTTP status."""
    parts = urlsplit(graph_url(store_url, graph))
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise BuildError(f"not an http(s) Graph Store URL: {store_url!r}")
    cls = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    conn = cls(parts.hostname, parts.port, timeout=timeout)
    size = path.stat().st_size
    try:
        conn.putrequest("PUT", f"{parts.path or '/'}?{parts.query}")
        conn.putheader("Content-Type", "application/n-triples")
        conn.putheader("Content-Length", str(size))
        conn.endheaders()
        with path.open("rb") as fh:
            while chunk := fh.read(CHUNK):
                conn.send(chunk)
        response = conn.getresponse()
        message = response.read(2000).decode("utf-8", "replace").strip()
    except OSError as exc:
        raise BuildError(f"cannot reach the Graph Store at {store_url}: {exc}") from None
    finally:
        conn.close()
    if response.status not in (200, 201, 204):
        raise BuildError(
            f"the Graph Store refused graph {graph} ({response.status}): {message[:300]}"
        )
    return response.status


def publish(
    release_dir: Path, store_url: str, progress: Callable[[str], None] = lambda _: None
) -> dict[str, int]:
    """Replace each of our named graphs in the store with the release's; return bytes sent."""
    try:
        files = release_files(release_dir)
    except FileNotFoundError as exc:
        raise BuildError(str(exc)) from None
    sent: dict[str, int] = {}
    for graph, path in files.items():
        status = put_graph(store_url, graph, path)
        sent[graph] = path.stat().st_size
        progress(f"publish   {graph} <- {path.name} ({sent[graph]} bytes, HTTP {status})")
    return sent
