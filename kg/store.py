"""Read-only query engines over a cytokg release, swappable behind one small interface.

The SPARQL endpoint (package ``server``) talks only to :class:`QueryEngine` and
:class:`QueryResult`; it never learns which library answers.  This module opens the served
store for a release (:func:`open_store`) and re-exports the names other packages import;
the answer model and its writers live in :mod:`kg.results`, the engines in
:mod:`kg.engines`: ``oxigraph`` (default, pyoxigraph in memory or on disk), ``rdflib``
(in-memory Dataset, kept for comparison) and ``sparql`` (a remote endpoint).  Each loads
the release's two N-Triples files into named graphs and answers queries over an explicitly
given dataset (default graphs and named graphs); ``None`` means "all our graphs".
"""

from __future__ import annotations

import json
from pathlib import Path

from kg.engines.base import QueryEngine, QuerySyntaxError
from kg.engines.oxigraph import (
    OxigraphBindingsResult,
    OxigraphDiskEngine,
    OxigraphEngine,
    OxigraphGraphResult,
)
from kg.engines.rdflib import RdflibEngine, RdflibGraphResult
from kg.engines.remote import SparqlEngine
from kg.results import (
    GRAPH_FORMATS,
    PREFIXES,
    RDF_LANG_STRING,
    TABULAR_FORMATS,
    XSD_STRING,
    BindingsResult,
    BooleanResult,
    QueryResult,
    ResultKind,
    Serialized,
    Term,
    term_to_nt,
    write_bindings,
    write_boolean,
)
from kg.vocab import ASSERTED_GRAPH, BASE, INFERRED_GRAPH

__all__ = [
    "BASE",
    "ENGINES",
    "GRAPH_ASSERTED",
    "GRAPH_EXAMPLES",
    "GRAPH_FILES",
    "GRAPH_FORMATS",
    "GRAPH_INFERRED",
    "OPTIONAL_GRAPH_FILES",
    "PREFIXES",
    "RDF_LANG_STRING",
    "STORE_KINDS",
    "TABULAR_FORMATS",
    "XSD_STRING",
    "BindingsResult",
    "BooleanResult",
    "OxigraphBindingsResult",
    "OxigraphDiskEngine",
    "OxigraphEngine",
    "OxigraphGraphResult",
    "QueryEngine",
    "QueryResult",
    "QuerySyntaxError",
    "RdflibEngine",
    "RdflibGraphResult",
    "ResultKind",
    "Serialized",
    "SparqlEngine",
    "Term",
    "open_store",
    "release_files",
    "term_to_nt",
    "write_bindings",
    "write_boolean",
]

GRAPH_ASSERTED = str(ASSERTED_GRAPH)
GRAPH_INFERRED = str(INFERRED_GRAPH)
#: Named graph IRI -> release file that holds its triples (N-Triples).
GRAPH_FILES: dict[str, str] = {
    GRAPH_ASSERTED: "cytokg-asserted.nt",
    GRAPH_INFERRED: "cytokg-inferred.nt",
}
#: The SPARQL examples (kg.examples) as `<endpoint>/.well-known/sparql-examples` for the
#: endpoint's permanent IRI <BASE>sparql; the server also answers it under the URL a client
#: addresses (server.sparql aliases it). Optional: older and hand-made releases lack it.
GRAPH_EXAMPLES = BASE + "sparql/.well-known/sparql-examples"
#: Named graphs loaded when the release has their file, and otherwise absent.
OPTIONAL_GRAPH_FILES: dict[str, str] = {GRAPH_EXAMPLES: "examples.nt"}

ENGINES: dict[str, type[QueryEngine]] = {"oxigraph": OxigraphEngine, "rdflib": RdflibEngine}
STORE_KINDS = ("memory", "oxigraph:PATH", "sparql:URL")


def release_files(release_dir: Path) -> dict[str, Path]:
    """Map each named graph to its file in ``release_dir``, failing early if one is missing.

    Optional graphs (OPTIONAL_GRAPH_FILES) are included when their file is present.
    """
    files = {graph: Path(release_dir) / name for graph, name in GRAPH_FILES.items()}
    missing = [str(p) for p in files.values() if not p.is_file()]
    if missing:
        raise FileNotFoundError(f"release is missing {', '.join(missing)}")
    for graph, name in OPTIONAL_GRAPH_FILES.items():
        if (Path(release_dir) / name).is_file():
            files[graph] = Path(release_dir) / name
    return files


def _release_id(release_dir: Path) -> str:
    """The release's identity (version and source hash) from its manifest, or ''."""
    try:
        manifest = json.loads((Path(release_dir) / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return ""
    return json.dumps(
        {k: manifest.get(k) for k in ("version", "sources_sha256", "source_hash", "files")},
        sort_keys=True,
    )


def open_store(
    release_dir: Path, engine: str = "oxigraph", store: str | None = None
) -> QueryEngine:
    """Open the served store for a release, the only way the server gets one.

    ``store`` is ``None``/``"memory"`` (load the release into ``engine`` in memory),
    ``"oxigraph:PATH"`` (an on-disk pyoxigraph store at PATH, loaded once from the release)
    or ``"sparql:URL"`` (a remote SPARQL endpoint already holding our graphs, see
    ``cytokg publish``).
    """
    if store and store != "memory":
        kind, sep, where = store.partition(":")
        if not sep or not where:
            raise ValueError(f"unknown store {store!r}; use one of {', '.join(STORE_KINDS)}")
        if kind == "oxigraph":
            files = release_files(release_dir)
            return OxigraphDiskEngine(files, Path(where), _release_id(release_dir))
        if kind == "sparql":
            return SparqlEngine(where, tuple(release_files(release_dir)),
                                default_graphs=tuple(GRAPH_FILES))
        raise ValueError(f"unknown store {store!r}; use one of {', '.join(STORE_KINDS)}")
    try:
        cls = ENGINES[engine]
    except KeyError:
        raise ValueError(f"unknown engine {engine!r}; choose from {sorted(ENGINES)}") from None
    return cls(release_files(release_dir))
