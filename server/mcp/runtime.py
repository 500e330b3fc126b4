"""What the MCP server loads once from a release, and the one way its tools run a query.

Everything read per call goes through the endpoint's :class:`~server.limits.ExecutorPool`
(killable processes under the time and memory limits, the guard refusing updates and SERVICE);
only the start-up catalogue below is read on the engine itself, before the executors fork.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kg.engines.base import QueryEngine
from kg.explain import Explainer
from kg.layout import DERIVATIONS
from kg.results import BindingsResult, BooleanResult, QueryResult, Term
from kg.store import GRAPH_ASSERTED
from server.limits import ExecutorCrashed, ExecutorPool, Job, PoolBusy, QueryTimeout, Reply
from server.release import open_release
from server.schema import Schema
from server.search import SearchIndex
from server.settings import Settings
from server.terms import DEFINITIONS, LABEL, OWL, RDF_TYPE, RDFS, Catalog, select

from .examples import Example, load_examples

SKOS = "http://www.w3.org/2004/02/skos/core#"
#: Rows an internal lookup may return; more means the lookup itself is wrong, never truncated.
INTERNAL_ROWS = 200_000
VOCABULARY_KINDS = {
    OWL + "Class": "class",
    OWL + "ObjectProperty": "object property",
    OWL + "DatatypeProperty": "datatype property",
    OWL + "AnnotationProperty": "annotation property",
}


class QueryFailed(Exception):
    """A query the pool would not or could not answer; the message says why, for the caller."""


@dataclass(frozen=True)
class SourceInfo:
    """A Source individual as a citation: its label and, where verified, PMID and DOI."""

    iri: str
    label: str
    pmid: str | None = None
    doi: str | None = None


@dataclass
class VocabularyTerm:
    """One class or property of our ontology, with what an assistant needs to use it."""

    iri: str
    curie: str
    kind: str
    label: str
    definition: str
    parents: list[str] = field(default_factory=list)
    inverse: str | None = None


@dataclass
class Runtime:
    """The loaded release, its query processes and the catalogue the tools answer from."""

    settings: Settings
    engine: QueryEngine
    pool: ExecutorPool
    manifest: dict[str, Any]
    void_ttl: str
    catalog: Catalog
    index: SearchIndex
    schema: Schema
    explainer: Explainer | None
    examples: list[Example]
    sources: dict[str, SourceInfo]
    asserted_types: dict[str, list[str]]
    vocabulary: list[VocabularyTerm]

    @property
    def release_dir(self) -> Path:
        """The release directory being served."""
        return Path(self.settings.release_dir)

    @property
    def version(self) -> str:
        """The release's version, as its manifest gives it."""
        return str(self.manifest.get("version", ""))

    def run(self, job: Job, parameter: str) -> Reply:
        """Run one job in the pool under the time limit; failures name the tool ``parameter``."""
        limit = self.settings.time_limit
        try:
            reply = self.pool.run(job, time.monotonic() + limit)
        except QueryTimeout:
            raise QueryFailed(
                f"{parameter}: the query did not finish within the time limit of {limit:g} s "
                "and was stopped; make it more selective (fewer unbound triple patterns, a "
                "LIMIT, VALUES for known terms)") from None
        except PoolBusy:
            raise QueryFailed(f"{parameter}: no query process became free within {limit:g} s; "
                              "try again shortly") from None
        except ExecutorCrashed:
            raise QueryFailed(
                f"{parameter}: the query process died while running the query, most likely at "
                f"the memory limit of {self.settings.memory_limit} bytes; make the query "
                "more selective") from None
        if reply.status != 200:
            raise QueryFailed(f"{parameter}: {reply.message}")
        return reply

    def select(self, query: str, parameter: str = "query") -> list[dict[str, Term]]:
        """An internal SELECT through the pool, decoded; never silently truncated."""
        reply = self.run(Job(query, None, None, "json", None, INTERNAL_ROWS), parameter)
        if reply.truncated:
            raise QueryFailed(f"{parameter}: the lookup matched more than {INTERNAL_ROWS} rows")
        doc = json.loads(reply.body)
        return [{name: term_of(cell) for name, cell in row.items()}
                for row in doc["results"]["bindings"]]

    def source(self, iri: str) -> SourceInfo:
        """The citation of a source IRI (its IRI alone if the release says nothing of it)."""
        return self.sources.get(iri) or SourceInfo(iri, self.catalog.labels.get(iri, iri))

    def label(self, iri: str) -> str:
        """A term's label, else its CURIE, else the IRI itself."""
        return self.catalog.labels.get(iri) or self.catalog.curie(iri) or iri

    def curie(self, iri: str) -> str:
        """A term's CURIE with the release's prefixes, else the IRI itself."""
        return self.catalog.curie(iri) or iri


class PoolEngine(QueryEngine):
    """A query engine whose every query runs in the runtime's pool, for code written for one.

    The ligand-receptor export reads the release through a ``QueryEngine``; handing it this one
    keeps its queries under the endpoint's limits instead of running them in the server.
    """

    name = "pool"

    def __init__(self, runtime: Runtime, parameter: str) -> None:
        """Remember the runtime and the tool parameter its errors should name."""
        self.runtime = runtime
        self.parameter = parameter

    @property
    def graphs(self) -> tuple[str, ...]:
        """The graphs of the served engine."""
        return self.runtime.engine.graphs

    def count(self, graph: str | None = None) -> int:
        """The served engine's triple count (counted at load)."""
        return self.runtime.engine.count(graph)

    def query(self, sparql: str, *, default_graphs: Sequence[str] | None = None,
              named_graphs: Sequence[str] | None = None) -> QueryResult:
        """Run a SELECT or ASK in the pool and hand its rows back as a neutral result."""
        job = Job(sparql, tuple(default_graphs) if default_graphs is not None else None,
                  tuple(named_graphs) if named_graphs is not None else None, "json", None,
                  INTERNAL_ROWS)
        reply = self.runtime.run(job, self.parameter)
        doc = json.loads(reply.body)
        if "boolean" in doc:
            return BooleanResult(bool(doc["boolean"]))
        names = list(doc["head"].get("vars", []))
        rows = [tuple(term_of(row[n]) if n in row else None for n in names)
                for row in doc["results"]["bindings"]]
        return BindingsResult(names, rows)


def term_of(cell: dict[str, Any]) -> Term:
    """A SPARQL JSON results cell as a neutral term."""
    kind = "literal" if cell["type"] == "typed-literal" else cell["type"]
    return Term(kind, cell["value"], cell.get("datatype"), cell.get("xml:lang"))


def load(settings: Settings) -> Runtime:
    """Verify and load the release, read the start-up catalogue, and prepare the pool."""
    release = Path(settings.release_dir)
    opened = open_release(settings)  # refuses a missing, partial or altered release
    engine, manifest = opened.engine, opened.manifest
    base = settings.namespace
    catalog = Catalog.load(engine, base, release)
    files = set(manifest.get("files", {}))
    return Runtime(
        settings=settings,
        engine=engine,
        pool=ExecutorPool(engine, settings.executors, settings.memory_limit),
        manifest=manifest,
        void_ttl=opened.void_ttl,
        catalog=catalog,
        index=SearchIndex.build(engine, catalog),
        schema=Schema.load(engine, catalog, manifest),
        explainer=Explainer.load(release) if DERIVATIONS in files else None,
        examples=load_examples(release, Path(settings.queries_dir), base),
        sources=read_sources(engine, base),
        asserted_types=read_asserted_types(engine, base),
        vocabulary=read_vocabulary(engine, catalog, base),
    )


def read_sources(engine: QueryEngine, base: str) -> dict[str, SourceInfo]:
    """Every Source individual with its label, PMID and DOI (start-up only)."""
    query = (
        f"SELECT ?s ?label ?pmid ?doi WHERE {{ ?s a <{base}Source> "
        f"OPTIONAL {{ ?s <{LABEL}> ?label }} OPTIONAL {{ ?s <{base}pmid> ?pmid }} "
        f"OPTIONAL {{ ?s <{base}doi> ?doi }} }} ORDER BY ?s ?label ?pmid ?doi"
    )
    found: dict[str, SourceInfo] = {}
    for s, label, pmid, doi in select(engine, query):
        if s is None or s.value in found:
            continue
        found[s.value] = SourceInfo(s.value, label.value if label else s.value,
                                    pmid.value if pmid else None, doi.value if doi else None)
    return found


def read_asserted_types(engine: QueryEngine, base: str) -> dict[str, list[str]]:
    """The asserted classes (of our namespace) of each term, for search answers."""
    query = (
        f"SELECT ?s ?t WHERE {{ GRAPH <{GRAPH_ASSERTED}> {{ ?s <{RDF_TYPE}> ?t }} "
        f"FILTER(isIRI(?s) && STRSTARTS(STR(?t), {json.dumps(base)})) }} ORDER BY ?s ?t"
    )
    types: dict[str, list[str]] = {}
    for s, t in select(engine, query):
        if s is not None and t is not None:
            types.setdefault(s.value, []).append(t.value)
    return types


def read_vocabulary(engine: QueryEngine, catalog: Catalog, base: str) -> list[VocabularyTerm]:
    """Our classes and properties with labels, definitions, parents and inverses."""
    kinds = " ".join(f"<{k}>" for k in VOCABULARY_KINDS)
    definitions = " ".join(f"<{d}>" for d in DEFINITIONS)
    query = (
        f"SELECT ?t ?kind ?def ?parent ?inverse WHERE {{ VALUES ?kind {{ {kinds} }} "
        f"GRAPH <{GRAPH_ASSERTED}> {{ ?t <{RDF_TYPE}> ?kind }} "
        f"FILTER(isIRI(?t) && STRSTARTS(STR(?t), {json.dumps(base)})) "
        f"OPTIONAL {{ VALUES ?dp {{ {definitions} }} ?t ?dp ?def }} "
        f"OPTIONAL {{ GRAPH <{GRAPH_ASSERTED}> {{ ?t <{RDFS}subClassOf>|<{RDFS}subPropertyOf> "
        f"?parent }} FILTER(isIRI(?parent)) }} "
        f"OPTIONAL {{ ?t <{OWL}inverseOf> ?inverse FILTER(isIRI(?inverse)) }} }}"
    )
    terms: dict[str, VocabularyTerm] = {}
    for t, kind, definition, parent, inverse in select(engine, query):
        if t is None or kind is None:
            continue
        term = terms.get(t.value)
        if term is None:
            term = terms[t.value] = VocabularyTerm(
                t.value, catalog.curie(t.value) or t.value, VOCABULARY_KINDS[kind.value],
                catalog.labels.get(t.value, ""), definition.value if definition else "")
        if parent is not None:
            shown = catalog.curie(parent.value) or parent.value
            if shown not in term.parents and parent.value != t.value:
                term.parents.append(shown)
        if inverse is not None and inverse.value != t.value:
            term.inverse = catalog.curie(inverse.value) or inverse.value
    ordered = sorted(terms.values(), key=lambda v: (v.kind != "class", v.kind, v.curie))
    for term in ordered:
        term.parents.sort()
    return ordered
