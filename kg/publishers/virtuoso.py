"""Publish a release into OpenLink Virtuoso with its bulk loader, switching versions atomically.

Virtuoso is driven through its own SQL client, ``isql`` (Debian: ``isql-vt``), because the bulk
loader (``ld_add`` + ``rdf_loader_run``) is a SQL procedure; the SPARQL endpoint only reads.

Versions, not renames.  Virtuoso's ``/sparql`` reads rows that a running transaction has not
committed yet (measured: during a one-transaction delete-and-copy of both graphs, readers saw
counts that were neither the old nor the new release), so the switch cannot be a bulk change
of rows.  Instead each publish N loads every graph G into its own graph ``G/vN`` and then
switches with a single row: the triple ``<CURRENT> cytokg:servedVersion N`` in the graph
``https://w3id.org/cytokg/graph/current``.  The remote engine of ``cytokg serve --store
sparql:URL`` (kg.engines.remote) reads the highest N (at most once a second per process),
queries ``G/vN`` in place of G and writes G back into answers.  A publish:

1. checks that the server sees the release's N-Triples files (``--load-dir``: the directory as
   the Virtuoso host sees it, listed in its ``DirsAllowed``; by default the release directory,
   for a server on this machine) with the same sizes as here;
2. clears ``G/vN`` (left by a failed publish), bulk-loads each file into it and checks that it
   holds as many triples as its file;
3. adds the row for N, then removes the rows below N: from the moment the row is added, every
   query reads version N whole; before it, version N-1 whole;
4. deletes version N-2 (N-1 stays, for queries that read the version number up to a second
   before the switch), checkpoints, refreshes the optimiser's statistics of ``RDF_QUAD``, and
   writes the endpoint's limits into the server's ``virtuoso.ini`` with ``cfg_write``:
   ``[SPARQL] MaxQueryExecutionTime`` (seconds), which the ``/sparql`` handler reads on every
   request, so it holds at once, and ``ResultSetMaxRows``, which Virtuoso 7.2 reads only when
   it starts (measured), so it holds from the server's next restart.

What readers through our endpoint are promised: every query reads one complete release, never
part of one nor two graphs of different releases.  If anything fails before step 3, the served
release is unchanged.  Clients that query Virtuoso directly see the versioned graph IRIs.  The
password is passed to ``isql`` as an argument (its only way), so it is visible to local
``ps``; take it from an environment variable.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from kg.errors import BuildError

#: Seconds a query may run in Virtuoso; above `cytokg serve`'s default 10 s so that our
#: endpoint answers 503 first, while work a killed client abandoned still ends soon after.
DEFAULT_TIME_LIMIT = 15
#: Rows in a Virtuoso answer; above our row limit (10,000 by default) plus the one extra row we
#: read to tell that an answer was cut, so Virtuoso never cuts silently before we do.
DEFAULT_MAX_ROWS = 100_000
ISQL_NAMES = ("isql-vt", "isql-v", "isql")


@dataclass(frozen=True)
class Virtuoso:
    """A Virtuoso server reached by its SQL port (default 1111) with ``isql``."""

    host: str = "127.0.0.1"
    port: int = 1111
    user: str = "dba"
    password: str = "dba"
    isql: str = ""
    timeout: float = 3600.0

    @classmethod
    def from_spec(cls, where: str, user: str, password: str, isql: str | None = None
                  ) -> Virtuoso:
        """Parse ``HOST[:PORT]`` (the part after ``virtuoso:``; ``isql://`` may precede it)."""
        where = where.removeprefix("isql://").rstrip("/")
        match = re.fullmatch(r"\[?([^\[\]/]+?)\]?(?::(\d+))?", where)
        if not where or not match:
            raise BuildError(f"not a Virtuoso SQL address (HOST[:PORT]): {where!r}")
        binary = isql or next((name for name in ISQL_NAMES if shutil.which(name)), "")
        if not binary or not shutil.which(binary):
            raise BuildError(
                "Virtuoso's SQL client isql is not installed (Debian: apt-get install "
                "virtuoso-opensource, which provides isql-vt); or name it with --isql"
            )
        port = int(match.group(2)) if match.group(2) else 1111
        return cls(match.group(1), port, user, password, binary)

    def run(self, script: str, timeout: float | None = None) -> list[list[str]]:
        """Run SQL statements (each ending with ``;``); return result rows, raise on any error.

        isql keeps going after a failed statement and exits 0, so errors are found in its
        output; rows come back as whitespace-separated fields (our values hold no spaces).
        """
        command = [self.isql, f"{self.host}:{self.port}", self.user, self.password,
                   "VERBOSE=OFF", "BANNER=OFF", "PROMPT=OFF", "ECHO=OFF"]
        try:
            done = subprocess.run(command, input=script, capture_output=True, text=True,
                                  timeout=timeout or self.timeout, check=False)
        except subprocess.TimeoutExpired:
            raise BuildError(f"Virtuoso at {self.host}:{self.port} did not finish in time"
                             ) from None
        errors = [line for line in (done.stdout + done.stderr).splitlines()
                  if line.startswith("*** Error")]
        if errors or done.returncode != 0:
            detail = errors[0] if errors else done.stderr.strip()[-300:]
            raise BuildError(f"Virtuoso at {self.host}:{self.port}: {detail}")
        return [line.split() for line in done.stdout.splitlines() if line.strip()]


def version_graph(graph: str, version: int) -> str:
    """The graph that holds ``graph`` as published in ``version``."""
    return f"{graph}/v{version}"


def served_versions(server: Virtuoso) -> list[int]:
    """The version numbers the current-version graph names (the highest is served)."""
    from kg.engines.remote import CURRENT_GRAPH, SERVED_VERSION

    rows = server.run(f"SPARQL SELECT ?n WHERE {{ GRAPH <{CURRENT_GRAPH}> {{ <{CURRENT_GRAPH}> "
                      f"<{SERVED_VERSION}> ?n }} }};")
    return sorted(int(row[0]) for row in rows if row and row[0].isdigit())


def _sql_string(text: str) -> str:
    """A SQL string literal (IRIs and paths come from our release, but quote them anyway)."""
    return "'" + text.replace("'", "''") + "'"


def _triples_in(path: Path) -> int:
    """Triples in an N-Triples file: its lines that are neither blank nor comments."""
    count = 0
    with path.open("rb") as fh:
        for line in fh:
            stripped = line.lstrip()
            if stripped and not stripped.startswith(b"#"):
                count += 1
    return count


def _count(server: Virtuoso, graph: str) -> int:
    """Quads labelled ``graph`` in the store."""
    rows = server.run(f"SELECT COUNT(*) FROM DB.DBA.RDF_QUAD WHERE G = iri_to_id("
                      f"{_sql_string(graph)}, 0);")
    return int(rows[0][0]) if rows and rows[0] and rows[0][0].isdigit() else 0


def set_limits(server: Virtuoso, time_limit: float, max_rows: int) -> None:
    """Write the ``/sparql`` limits into the server's virtuoso.ini; read on every request."""
    server.run(
        f"cfg_write (virtuoso_ini_path (), 'SPARQL', 'MaxQueryExecutionTime', "
        f"'{max(1, round(time_limit))}');\n"
        f"cfg_write (virtuoso_ini_path (), 'SPARQL', 'ResultSetMaxRows', '{int(max_rows)}');\n"
    )


def limits(server: Virtuoso) -> dict[str, str]:
    """The ``[SPARQL]`` limits the server's ``/sparql`` handler reads now."""
    rows = server.run(
        "SELECT cfg_item_value (virtuoso_ini_path (), 'SPARQL', 'MaxQueryExecutionTime'), "
        "cfg_item_value (virtuoso_ini_path (), 'SPARQL', 'ResultSetMaxRows');"
    )
    values = rows[0] if rows else []
    return dict(zip(("MaxQueryExecutionTime", "ResultSetMaxRows"), values, strict=False))


def publish(
    release_dir: Path,
    server: Virtuoso,
    load_dir: str | None = None,
    time_limit: float = DEFAULT_TIME_LIMIT,
    max_rows: int = DEFAULT_MAX_ROWS,
    graphs: Sequence[str] | None = None,
    progress: Callable[[str], None] = lambda _: None,
) -> dict[str, int]:
    """Load the release and switch the served graphs to it atomically; return triples per graph."""
    from kg.store import release_files  # loads the engines: only when publishing

    try:
        files = release_files(release_dir)
    except FileNotFoundError as exc:
        raise BuildError(str(exc)) from None
    graphs = tuple(files) if graphs is None else tuple(graphs)
    where = (load_dir or str(Path(release_dir).resolve())).rstrip("/")
    wanted: dict[str, int] = {}
    remote: dict[str, str] = {}
    for graph in graphs:
        path = files[graph]
        remote[graph] = f"{where}/{path.name}"
        rows = server.run(f"SELECT file_stat ({_sql_string(remote[graph])}, 1);")
        seen = rows[0][0] if rows and rows[0] else ""
        if seen != str(path.stat().st_size):
            raise BuildError(
                f"Virtuoso does not see {path.name} as it is here (server file "
                f"{remote[graph]}: {seen or 'missing'}, here {path.stat().st_size} bytes); "
                "pass --load-dir with the directory holding the release on the Virtuoso host"
            )
        wanted[graph] = _triples_in(path)

    versions = served_versions(server)
    version = (versions[-1] if versions else 0) + 1
    listed = ", ".join(_sql_string(p) for p in remote.values())
    script = ["log_enable (3, 1);"]
    for graph in graphs:
        script.append("DELETE FROM DB.DBA.RDF_QUAD WHERE G = iri_to_id ("
                      f"{_sql_string(version_graph(graph, version))}, 0);")
    script.append(f"DELETE FROM DB.DBA.LOAD_LIST WHERE ll_file IN ({listed});")
    for graph in graphs:
        script.append(f"ld_add ({_sql_string(remote[graph])}, "
                      f"{_sql_string(version_graph(graph, version))});")
    script += ["rdf_loader_run ();", "checkpoint;",
               f"SELECT ll_file, ll_error FROM DB.DBA.LOAD_LIST WHERE ll_file IN ({listed}) "
               "AND ll_error IS NOT NULL;"]
    progress(f"publish   bulk-loading {len(graphs)} graphs as version {version}")
    failed = server.run("\n".join(script) + "\n")
    if failed:
        raise BuildError(f"Virtuoso's bulk loader failed: {' '.join(failed[0])[:400]} (a file "
                         "outside the server's DirsAllowed cannot be read)")
    for graph in graphs:
        loaded = _count(server, version_graph(graph, version))
        if loaded != wanted[graph]:
            raise BuildError(f"version {version} of {graph} holds {loaded} triples, its file "
                             f"{wanted[graph]}; the served release is unchanged")
        progress(f"publish   {graph}: {loaded} triples staged as version {version}")

    from kg.engines.remote import CURRENT_GRAPH, SERVED_VERSION

    current = f"<{CURRENT_GRAPH}> <{SERVED_VERSION}>"
    server.run(f"SPARQL INSERT DATA {{ GRAPH <{CURRENT_GRAPH}> {{ {current} {version} }} }};\n")
    progress(f"publish   switched to version {version} with one row")
    stale = " ".join(f"{current} {old} ." for old in versions)
    drop = [f"SPARQL DELETE DATA {{ GRAPH <{CURRENT_GRAPH}> {{ {stale} }} }};"] if stale else []
    drop.append("log_enable (3, 1);")
    for old in range(max(1, version - 6), version - 1):  # keep version - 1 for late readers
        for graph in graphs:
            drop.append("DELETE FROM DB.DBA.RDF_QUAD WHERE G = iri_to_id ("
                        f"{_sql_string(version_graph(graph, old))}, 0);")
    drop += ["checkpoint;", f"DELETE FROM DB.DBA.LOAD_LIST WHERE ll_file IN ({listed});",
             "DB.DBA.SYS_STAT_ANALYZE ('DB.DBA.RDF_QUAD', 10, 0);"]
    server.run("\n".join(drop) + "\n")
    set_limits(server, time_limit, max_rows)
    progress(f"publish   Virtuoso limits: MaxQueryExecutionTime={max(1, round(time_limit))} s "
             f"(now), ResultSetMaxRows={int(max_rows)} (from Virtuoso's next start)")
    return {graph: _count(server, version_graph(graph, version)) for graph in graphs}
