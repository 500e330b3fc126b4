"""What the server knows about the terms of our namespace: IRIs, labels, prefixes, term views.

The catalogue (term IRIs, labels, prefixes) is read once at app start with a few bounded
SPARQL queries on the engine itself, before any executor is forked; everything asked per
request goes through the executor pool so that the time limit applies to it as to /sparql.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kg.store import GRAPH_ASSERTED, GRAPH_INFERRED, PREFIXES, QueryEngine, Term

from . import errors
from .limits import ExecutorCrashed, ExecutorPool, Job, PoolBusy, QueryTimeout

RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
RDFS = "http://www.w3.org/2000/01/rdf-schema#"
OWL = "http://www.w3.org/2002/07/owl#"
SKOS = "http://www.w3.org/2004/02/skos/core#"
DCTERMS_SOURCE = "http://purl.org/dc/terms/source"
LABEL = RDFS + "label"
ALT_LABEL = SKOS + "altLabel"
DEFINITIONS = (SKOS + "definition", "http://purl.obolibrary.org/obo/IAO_0000115")
#: Properties whose objects are mappings to resources of other ontologies and databases.
MAPPING_PROPERTIES = (
    *(SKOS + m for m in ("exactMatch", "closeMatch", "broadMatch", "narrowMatch", "relatedMatch")),
    OWL + "equivalentClass",
    OWL + "sameAs",
    "http://www.geneontology.org/formats/oboInOwl#hasDbXref",
)
#: Local names of our datatype properties that hold database identifiers.
IDENTIFIER_NAMES = ("hgncId", "uniprotId", "ncbiGeneId", "doi")
INCOMING_LIMIT = 500  # incoming statements listed on a page; the rest is one SPARQL query away


@dataclass(frozen=True)
class Node:
    """One RDF term as a page shows it: text, and where a link should go."""

    kind: str  # uri, bnode, literal
    value: str
    text: str
    href: str | None = None
    local: bool = False  # a page of ours
    lang: str | None = None
    datatype: str | None = None


@dataclass
class Statement:
    """One triple about the term, with its graph and its sources (axiom annotations)."""

    subject: Node
    predicate: Node
    obj: Node
    inferred: bool
    sources: list[Node] = field(default_factory=list)


@dataclass
class TermView:
    """Everything a term page shows, already sorted into sections."""

    iri: str
    label: str
    curie: str | None
    synonyms: list[str]
    definitions: list[str]
    asserted_types: list[Node]
    inferred_types: list[Node]
    identifiers: list[Statement]
    mappings: list[Statement]
    outgoing: list[Statement]
    incoming: list[Statement]
    incoming_truncated: bool
    sources: list[Node]


def _term(cell: dict[str, Any]) -> Term:
    """A SPARQL JSON results cell as a neutral term."""
    kind = cell["type"]
    if kind == "typed-literal":  # SPARQL 1.0 JSON spelling
        kind = "literal"
    return Term(kind, cell["value"], cell.get("datatype"), cell.get("xml:lang"))


def _key(t: Term) -> tuple[str, str, str]:
    """A hashable identity for matching axiom targets with statement objects."""
    return (t.kind, t.value, t.lang or t.datatype or "")


class Catalog:
    """Our term IRIs, every label in the graph and the prefixes used to abbreviate IRIs."""

    def __init__(
        self,
        base: str,
        terms: Iterable[str],
        labels: dict[str, str],
        prefixes: dict[str, str],
    ) -> None:
        """Keep the sets and maps; prefixes are tried longest namespace first."""
        self.base = base
        self.terms = frozenset(terms)
        self.labels = labels
        self.prefixes = sorted(prefixes.items(), key=lambda kv: -len(kv[1]))

    @classmethod
    def load(cls, engine: QueryEngine, base: str, release_dir: Path) -> Catalog:
        """Read term IRIs and labels from the store once, at app start (bounded: one pass each)."""
        found: set[str] = set()
        q_terms = (
            "SELECT DISTINCT ?t WHERE { { ?t ?p ?o } UNION { ?s ?t ?o } UNION { ?s ?p ?t } "
            f"FILTER(isIRI(?t) && STRSTARTS(STR(?t), {json.dumps(base)})) }}"
        )
        for (t,) in select(engine, q_terms):
            if t is not None:
                found.add(t.value)
        labels: dict[str, str] = {}
        english: set[str] = set()
        for s, lit in select(engine, f"SELECT ?s ?l WHERE {{ ?s <{LABEL}> ?l }} ORDER BY ?s ?l"):
            if s is None or lit is None or s.kind != "uri":
                continue
            is_en = (lit.lang or "").lower().startswith("en")
            if s.value not in labels or (is_en and s.value not in english):
                labels[s.value] = lit.value
                if is_en:
                    english.add(s.value)
        return cls(base, found, labels, read_prefixes(release_dir, base))

    def local_path(self, iri: str) -> str | None:
        """The path of our page for an IRI of our namespace (``/IL6``), else None."""
        if iri.startswith(self.base):
            return "/" + iri[len(self.base) :]
        return None

    def iri_for(self, path: str) -> str:
        """The IRI a request path stands for (inverse of ``local_path``)."""
        return self.base + path.lstrip("/")

    def curie(self, iri: str) -> str | None:
        """Abbreviate with the release's prefixes (``CL:0000235``), if one fits."""
        for prefix, ns in self.prefixes:
            if iri.startswith(ns) and len(iri) > len(ns):
                return f"{prefix}:{iri[len(ns) :]}"
        return None

    def node(self, t: Term, root: str = "") -> Node:
        """Turn a term into a displayable node, linking our IRIs to our pages."""
        if t.kind == "uri":
            path = self.local_path(t.value)
            text = self.labels.get(t.value) or self.curie(t.value) or t.value
            if path is not None:
                return Node("uri", t.value, text, root + path, local=True)
            return Node("uri", t.value, text, t.value)
        if t.kind == "bnode":
            return Node("bnode", t.value, "(anonymous class expression or list)")
        return Node("literal", t.value, t.value, lang=t.lang, datatype=t.datatype)


def read_prefixes(release_dir: Path, base: str) -> dict[str, str]:
    """The release's own prefixes (context.jsonld), else the engine's defaults."""
    prefixes = dict(PREFIXES)
    path = Path(release_dir) / "context.jsonld"
    if path.is_file():
        try:
            context = json.loads(path.read_text(encoding="utf-8")).get("@context", {})
        except (OSError, ValueError):
            context = {}
        prefixes.update({k: v for k, v in context.items() if isinstance(v, str) and ":" in v})
    prefixes["cytokg"] = base
    return prefixes


def select(engine: QueryEngine, query: str) -> list[tuple[Term | None, ...]]:
    """Run a SELECT on the engine itself; only for start-up, never per request."""
    result = engine.query(query)
    rows, _ = result.take(None)  # type: ignore[attr-defined]
    return rows  # type: ignore[no-any-return]


def run_job(pool: ExecutorPool, job: Job, time_limit: float) -> tuple[bytes, str]:
    """Run a job in the executor pool under the time limit, mapping failures to HTTP errors."""
    try:
        reply = pool.run(job, time.monotonic() + time_limit)
    except (QueryTimeout, PoolBusy):
        raise errors.service_unavailable(
            f"The server is busy: the lookup did not finish within {time_limit:g} s."
        ) from None
    except ExecutorCrashed:
        raise errors.server_error() from None
    if reply.status != 200 or reply.fmt is None:
        raise errors.ProtocolError(reply.status or 500, reply.message)
    return reply.body, reply.fmt


def pool_select(
    pool: ExecutorPool, query: str, time_limit: float, row_limit: int
) -> list[dict[str, Term]]:
    """Run a SELECT through the pool and decode its SPARQL JSON rows."""
    body, _ = run_job(pool, Job(query, None, None, "json", None, row_limit), time_limit)
    doc = json.loads(body)
    return [{name: _term(cell) for name, cell in row.items()} for row in doc["results"]["bindings"]]


def describe_query(iri: str) -> str:
    """The RDF of a term: its concise bounded description plus the axioms annotating it."""
    return (
        f"DESCRIBE <{iri}> ?axiom WHERE {{ OPTIONAL {{ ?axiom <{OWL}annotatedSource> <{iri}> }} }}"
    )


def term_view(
    catalog: Catalog, pool: ExecutorPool, iri: str, time_limit: float, root: str = ""
) -> TermView:
    """Collect a term's statements (by graph), provenance and neighbours in three queries."""
    graph_of = f"VALUES ?g {{ <{GRAPH_ASSERTED}> <{GRAPH_INFERRED}> }}"
    out_rows = pool_select(
        pool,
        f"SELECT ?g ?p ?o WHERE {{ {graph_of} GRAPH ?g {{ <{iri}> ?p ?o }} }}",
        time_limit,
        10_000,
    )
    in_rows = pool_select(
        pool,
        f"SELECT ?g ?s ?p WHERE {{ {graph_of} GRAPH ?g {{ ?s ?p <{iri}> }} FILTER(isIRI(?s)) }} "
        f"LIMIT {INCOMING_LIMIT + 1}",
        time_limit,
        INCOMING_LIMIT + 1,
    )
    prov_rows = pool_select(
        pool,
        "SELECT ?s ?p ?o ?src WHERE { "
        f"{{ ?ax <{OWL}annotatedSource> <{iri}> BIND(<{iri}> AS ?s) }} UNION "
        f"{{ ?ax <{OWL}annotatedTarget> <{iri}> BIND(<{iri}> AS ?o) }} "
        f"?ax <{OWL}annotatedSource> ?s ; <{OWL}annotatedProperty> ?p ; "
        f"<{OWL}annotatedTarget> ?o ; <{DCTERMS_SOURCE}> ?src }}",
        time_limit,
        10_000,
    )
    provenance: dict[tuple[str, str, tuple[str, str, str]], list[Node]] = {}
    for row in prov_rows:
        k = (row["s"].value, row["p"].value, _key(row["o"]))
        sources = provenance.setdefault(k, [])
        src = catalog.node(row["src"], root)
        if src not in sources:
            sources.append(src)

    me = Term("uri", iri)
    view = TermView(
        iri=iri,
        label=catalog.labels.get(iri) or catalog.curie(iri) or iri,
        curie=catalog.curie(iri),
        synonyms=[],
        definitions=[],
        asserted_types=[],
        inferred_types=[],
        identifiers=[],
        mappings=[],
        outgoing=[],
        incoming=[],
        incoming_truncated=len(in_rows) > INCOMING_LIMIT,
        sources=[],
    )
    identifier_props = {catalog.base + n for n in IDENTIFIER_NAMES}
    for row in out_rows:
        p, o = row["p"], row["o"]
        inferred = row["g"].value == GRAPH_INFERRED
        stmt = Statement(
            catalog.node(me, root),
            catalog.node(p, root),
            catalog.node(o, root),
            inferred,
            provenance.get((iri, p.value, _key(o)), []),
        )
        if p.value == LABEL:
            continue
        if p.value == ALT_LABEL and o.kind == "literal":
            view.synonyms.append(o.value)
        elif p.value in DEFINITIONS and o.kind == "literal":
            view.definitions.append(o.value)
        elif p.value == RDF_TYPE and o.kind == "uri":
            (view.inferred_types if inferred else view.asserted_types).append(stmt.obj)
        elif p.value == DCTERMS_SOURCE and o.kind == "uri":
            view.sources.append(stmt.obj)
        elif p.value in identifier_props:
            view.identifiers.append(stmt)
        elif p.value in MAPPING_PROPERTIES and o.kind == "uri" and not stmt.obj.local:
            view.mappings.append(stmt)
        else:
            view.outgoing.append(stmt)
    for row in in_rows[:INCOMING_LIMIT]:
        s, p = row["s"], row["p"]
        view.incoming.append(
            Statement(
                catalog.node(s, root),
                catalog.node(p, root),
                catalog.node(me, root),
                row["g"].value == GRAPH_INFERRED,
                provenance.get((s.value, p.value, _key(me)), []),
            )
        )

    def order(st: Statement) -> tuple[bool, str, str]:
        """Asserted before inferred, then by property and value as people read them."""
        return (st.inferred, st.predicate.text.casefold(), st.obj.text.casefold())

    view.synonyms.sort(key=str.casefold)
    view.asserted_types.sort(key=lambda n: n.text.casefold())
    view.inferred_types.sort(key=lambda n: n.text.casefold())
    view.sources.sort(key=lambda n: n.text.casefold())
    for group in (view.identifiers, view.mappings, view.outgoing):
        group.sort(key=order)
    view.incoming.sort(
        key=lambda st: (st.inferred, st.predicate.text.casefold(), st.subject.text.casefold())
    )
    return view
