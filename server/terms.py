"""What the server knows about the terms of our namespace: IRIs, labels, prefixes, term views.

The catalogue (term IRIs, labels, prefixes) is read once at app start with a few bounded
SPARQL queries on the engine itself, before any executor is forked; everything asked per
request goes through the executor pool so that the time limit applies to it as to /sparql.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kg.explain import Explainer, parse_literal, quote_literal
from kg.explain import Node as DerivationNode
from kg.store import GRAPH_ASSERTED, GRAPH_INFERRED, PREFIXES, QueryEngine, Term

from . import errors
from .limits import ExecutorCrashed, ExecutorPool, Job, PoolBusy, QueryTimeout

if TYPE_CHECKING:
    from .schema import Schema

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
IDENTIFIER_NAMES = ("hgncId", "uniprotId", "ncbiGeneId", "mgiId", "ensemblGeneId", "pmid", "doi",
                    "doid", "uniiId")
SUBCLASS = RDFS + "subClassOf"
#: Vocabulary that is OWL bookkeeping, never shown as a type of a term.
HIDDEN_TYPES = frozenset({OWL + "NamedIndividual", OWL + "Thing", RDFS + "Resource",
                          OWL + "Axiom", OWL + "Restriction"})
#: Kinds of OWL term, shown as a note beside the IRI instead of as types.
KIND_NAMES = {
    OWL + "Class": "class",
    RDFS + "Class": "class",
    OWL + "ObjectProperty": "object property",
    OWL + "DatatypeProperty": "datatype property",
    OWL + "AnnotationProperty": "annotation property",
    "http://www.w3.org/1999/02/22-rdf-syntax-ns#Property": "property",
    OWL + "TransitiveProperty": "transitive",
    OWL + "SymmetricProperty": "symmetric",
    OWL + "AsymmetricProperty": "asymmetric",
    OWL + "FunctionalProperty": "functional",
    OWL + "InverseFunctionalProperty": "inverse functional",
    OWL + "IrreflexiveProperty": "irreflexive",
    OWL + "Ontology": "ontology",
    OWL + "AllDisjointClasses": "disjoint classes",
}
#: Properties whose statement of a term about itself is reasoning noise.
REFLEXIVE_NOISE = frozenset({SUBCLASS, RDFS + "subPropertyOf", OWL + "equivalentClass",
                             OWL + "equivalentProperty", OWL + "sameAs"})
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
    why: str | None = None  # the page of its derivation, for an inferred statement
    #: The properties of other ontologies (RO, BFO) this relation maps to: ("≡"/"⊑", node).
    notes: list[tuple[str, Node]] = field(default_factory=list)
    expression: list[Any] | None = None  # a class expression object, rendered


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
    type_why: dict[str, str] = field(default_factory=dict)  # inferred type IRI -> its "why?"
    kinds: list[str] = field(default_factory=list)  # class, object property, transitive ...
    symbols: list[str] = field(default_factory=list)
    species: list[Node] = field(default_factory=list)
    links: list[Any] = field(default_factory=list)  # labelled identifiers (schema.Identifier)
    class_tree: list[Any] = field(default_factory=list)  # schema.TreeNode forest
    family_tree: list[Any] = field(default_factory=list)
    members: list[Statement] = field(default_factory=list)  # instances of a class
    subclasses: list[Node] = field(default_factory=list)  # direct named subclasses
    subfamilies: list[Node] = field(default_factory=list)


#: Given a statement's subject, predicate and object, the link to its derivation, if it has one.
WhyLink = Callable[[Term, Term, Term], "str | None"]


def nt_of(t: Term) -> str | None:
    """A term in the N-Triples form the derivations file uses (None for a blank node)."""
    if t.kind == "uri":
        return f"<{t.value}>"
    if t.kind == "literal":
        return quote_literal(t.value, t.lang, t.datatype)
    return None


@dataclass
class DerivationView:
    """One triple of a derivation tree as the page shows it."""

    terms: list[Node]
    status: str
    rule: str | None
    axiom: list[str]
    sources: list[tuple[Node, str]]  # each source with its PMID / DOI text
    premises: list[DerivationView]
    repeated: bool
    why: str | None  # this triple's own derivation page, for a premise that is inferred


def parse_nt(term: str) -> Term:
    """A derivations-file term (N-Triples, or a class expression's name) as a neutral term."""
    if term.startswith("<"):
        return Term("uri", term[1:-1])
    if term.startswith("_:"):
        return Term("bnode", term)
    value, lang, datatype = parse_literal(term)
    if datatype is not None:
        datatype = datatype[1:-1]
    return Term("literal", value, datatype, lang)


def derivation_view(
    catalog: Catalog,
    explainer: Explainer,
    node: DerivationNode,
    link: Callable[[tuple[str, str, str]], str],
    root: str = "",
) -> DerivationView:
    """Turn a derivation tree into page nodes: labels, links and readable class expressions."""
    terms = []
    for t in node.triple:
        term = parse_nt(t)
        if term.kind == "bnode":
            terms.append(Node("bnode", t, explainer.term(t)))
        else:
            terms.append(catalog.node(term, root))
    sources = []
    for record in node.sources:
        extra = ", ".join(
            f"{label} {record[key]}" for key, label in (("pmid", "PMID"), ("doi", "DOI"))
            if key in record
        )
        sources.append((catalog.node(Term("uri", record["iri"]), root), extra))
    return DerivationView(
        terms=terms,
        status=node.status,
        rule=node.rule,
        axiom=explainer.axiom_texts(node.axiom),
        sources=sources,
        premises=[derivation_view(catalog, explainer, p, link, root) for p in node.premises],
        repeated=node.repeated,
        why=link(node.triple) if node.status == "inferred" else None,
    )


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
        """Read term IRIs and labels from the store once, at app start.

        One DISTINCT query per position of a triple (subject, predicate, object) and one for
        labels, each answered from the store's indexes; the namespace and the order are applied
        here, because a string test per triple (``STRSTARTS(STR(?t), ...)``) and a sort of
        every label cost a store such as Virtuoso seconds per million triples.
        """
        found: set[str] = set()
        for query in TERM_QUERIES:
            for (t,) in select(engine, query):
                if t is not None and t.kind == "uri" and t.value.startswith(base):
                    found.add(t.value)
        labels: dict[str, str] = {}
        english: set[str] = set()
        rows = [(s, lit) for s, lit in select(engine, LABEL_QUERY)
                if s is not None and lit is not None and s.kind == "uri"]
        rows.sort(key=lambda r: (r[0].value, r[1].value, r[1].lang or "", r[1].datatype or ""))
        for s, lit in rows:
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
            return Node("bnode", t.value, "(class expression)")
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


class StartupError(RuntimeError):
    """A start-up query whose whole answer the store would not give."""


#: Every IRI of a triple's subject, predicate and object positions (filtered to ours here).
TERM_QUERIES = (
    "SELECT DISTINCT ?t WHERE { ?t ?p ?o FILTER(isIRI(?t)) }",
    "SELECT DISTINCT ?t WHERE { ?s ?t ?o }",
    "SELECT DISTINCT ?t WHERE { ?s ?p ?t FILTER(isIRI(?t)) }",
)
LABEL_QUERY = f"SELECT DISTINCT ?s ?l WHERE {{ ?s <{LABEL}> ?l }}"
#: A query that already limits its answer cannot be read page by page.
_HAS_LIMIT = re.compile(r"\b(?:LIMIT|OFFSET)\s+\d+\s*$", re.I)


def select(engine: QueryEngine, query: str) -> list[tuple[Term | None, ...]]:
    """Run a SELECT on the engine itself; only for start-up, never per request.

    A store that cuts long answers at its own row cap (Virtuoso's ``ResultSetMaxRows``) is
    read again page by page (``select_pages``); nothing is ever kept from a cut answer.
    """
    result = engine.query(query)
    rows, cut = result.take(None)  # type: ignore[attr-defined]
    if not cut:
        return rows  # type: ignore[no-any-return]
    cap = getattr(result, "capped_at", None) or len(rows)
    return select_pages(engine, query, max(cap - 1, 1))


def select_pages(
    engine: QueryEngine, query: str, size: int
) -> list[tuple[Term | None, ...]]:
    """A SELECT DISTINCT answer read ``size`` rows at a time (``LIMIT``/``OFFSET``).

    Without ORDER BY (which Virtuoso refuses past 10000 sorted rows) a store may order the
    pages differently; every row is distinct, so the pages are whole exactly when no row
    comes twice, and otherwise start-up fails rather than serve a partial catalogue.
    """
    if not query.lstrip().upper().startswith("SELECT DISTINCT") or _HAS_LIMIT.search(query):
        raise StartupError(f"the store cut the answer to a start-up query: {query[:200]}")
    seen: set[tuple[Term | None, ...]] = set()
    found: list[tuple[Term | None, ...]] = []
    offset = 0
    while True:
        result = engine.query(f"{query} LIMIT {size} OFFSET {offset}")
        rows, cut = result.take(None)  # type: ignore[attr-defined]
        if cut:
            raise StartupError(f"the store cut a {size}-row page of: {query[:200]}")
        for row in rows:
            if row in seen:
                raise StartupError(f"the store's pages of a start-up query overlap: {query[:200]}")
            seen.add(row)
            found.append(row)
        if len(rows) < size:
            return found
        offset += size


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
    catalog: Catalog,
    pool: ExecutorPool,
    iri: str,
    time_limit: float,
    root: str = "",
    why: WhyLink | None = None,
    schema: Schema | None = None,
) -> TermView:
    """Collect a term's statements (by graph), provenance and neighbours in three queries.

    With the release's schema, each relation is shown once: an inferred statement implied by
    a more specific one on the same value (``RO:0002436`` beside ``bindsReceptor``), or the
    inverse of one already listed, is folded into it and its RO/BFO property becomes a note.
    """
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
    hidden_types = HIDDEN_TYPES
    kinds = KIND_NAMES
    identifier_props = {catalog.base + n: n for n in IDENTIFIER_NAMES}

    # Each relation once: drop an inferred triple implied by a more specific one (same value).
    # ... and a triple stated both ways (an inverse) once, the more specific or asserted way.
    out_rows = fold_super_properties(out_rows, "o", schema)
    in_rows = fold_super_properties(in_rows[:INCOMING_LIMIT], "s", schema)
    if schema is not None:
        out_rows, in_rows = fold_inverses(out_rows, in_rows, schema)

    def notes(p: Term) -> list[tuple[str, Node]]:
        if schema is None or p.kind != "uri":
            return []
        return [(rel, catalog.node(Term("uri", q), root))
                for rel, q in schema.mappings_of(p.value, catalog.base)]

    expressions_used: set[str] = set()
    types: set[str] = set()
    for row in out_rows:
        p, o = row["p"], row["o"]
        inferred = row["g"].value == GRAPH_INFERRED
        if p.value == LABEL:
            continue
        if o.kind == "uri" and o.value == iri and p.value in REFLEXIVE_NOISE:
            continue
        stmt = Statement(
            catalog.node(me, root),
            catalog.node(p, root),
            catalog.node(o, root),
            inferred,
            provenance.get((iri, p.value, _key(o)), []),
            why(me, p, o) if inferred and why is not None else None,
            notes(p),
        )
        if p.value == ALT_LABEL and o.kind == "literal":
            view.synonyms.append(o.value)
        elif p.value in DEFINITIONS and o.kind == "literal":
            view.definitions.append(o.value)
        elif p.value == RDF_TYPE and o.kind == "uri":
            if o.value in hidden_types:
                continue
            if o.value in kinds:
                view.kinds.append(kinds[o.value])
                continue
            types.add(o.value)
            (view.inferred_types if inferred else view.asserted_types).append(stmt.obj)
            if stmt.why is not None:
                view.type_why[o.value] = stmt.why
        elif p.value == DCTERMS_SOURCE and o.kind == "uri":
            view.sources.append(stmt.obj)
        elif p.value in identifier_props and o.kind == "literal":
            view.identifiers.append(stmt)
            if schema is not None:
                view.links.append(schema.literal_identifier(
                    catalog, identifier_props[p.value], o.value))
        elif p.value == catalog.base + "symbol" and o.kind == "literal":
            view.symbols.append(o.value)
        elif p.value in MAPPING_PROPERTIES and o.kind == "uri" and not stmt.obj.local:
            if schema is not None:
                ident = schema.iri_identifier(catalog, o.value)
                view.links.append(ident)
                text = ident.text if not ident.database or ident.text.startswith(
                    ident.database + ":") else f"{ident.database} {ident.text}"
                stmt.obj = replace(stmt.obj, text=text, href=ident.href)
            view.mappings.append(stmt)
        elif schema is not None and p.value in schema.taxon_props and o.kind == "uri":
            name = schema.scientific_names.get(o.value)
            shown = replace(stmt.obj, text=f"{stmt.obj.text} ({name})") if name else stmt.obj
            if shown not in view.species:
                view.species.append(shown)
        elif schema is not None and p.value == SUBCLASS and o.kind == "uri":
            continue  # shown as the class hierarchy
        elif o.kind == "bnode":
            if schema is None:
                view.outgoing.append(stmt)
                continue
            if p.value in expressions_used:
                continue  # every expression of this property was added at its first row
            expressions_used.add(p.value)
            for expr in schema.expressions.get((iri, p.value), []):
                view.outgoing.append(Statement(
                    stmt.subject, stmt.predicate, Node("bnode", "", "class expression"),
                    inferred, [], None, stmt.notes, expr))
        else:
            view.outgoing.append(stmt)
    for row in in_rows:
        s, p = row["s"], row["p"]
        inferred = row["g"].value == GRAPH_INFERRED
        stmt = Statement(
            catalog.node(s, root),
            catalog.node(p, root),
            catalog.node(me, root),
            inferred,
            provenance.get((s.value, p.value, _key(me)), []),
            why(s, p, me) if inferred and why is not None else None,
            notes(p),
        )
        if schema is not None and p.value == RDF_TYPE:
            view.members.append(stmt)
        elif schema is not None and p.value in (SUBCLASS, catalog.base + "subfamilyOf"):
            continue  # the direct ones are listed from the schema
        else:
            view.incoming.append(stmt)

    if schema is not None:
        add_trees(view, schema, catalog, iri, types, root)

    def order(st: Statement) -> tuple[bool, str, str]:
        """Asserted before inferred, then by property and value as people read them."""
        return (st.inferred, st.predicate.text.casefold(), st.obj.text.casefold())

    view.synonyms = sorted(set(view.synonyms) - set(view.symbols), key=str.casefold)
    view.symbols.sort(key=str.casefold)
    view.asserted_types.sort(key=lambda n: n.text.casefold())
    view.inferred_types.sort(key=lambda n: n.text.casefold())
    view.sources.sort(key=lambda n: n.text.casefold())
    unique = {i.href or i.text: i for i in view.links}  # uniprotId and its exactMatch: once
    view.links = sorted(unique.values(), key=lambda i: (i.database.casefold(), i.text))
    for group in (view.identifiers, view.mappings, view.outgoing):
        group.sort(key=order)
    view.incoming.sort(
        key=lambda st: (st.inferred, st.predicate.text.casefold(), st.subject.text.casefold())
    )
    view.members.sort(key=lambda st: (st.inferred, st.subject.text.casefold()))
    return view


def fold_super_properties(
    rows: list[dict[str, Term]], other: str, schema: Schema | None
) -> list[dict[str, Term]]:
    """Drop inferred rows whose property is a super-property of another row's, same value."""
    if schema is None:
        return rows
    by_value: dict[tuple[str, str, str], set[str]] = {}
    for r in rows:
        by_value.setdefault(_key(r[other]), set()).add(r["p"].value)
    kept = []
    for r in rows:
        p = r["p"].value
        if r["g"].value == GRAPH_INFERRED and any(
            schema.is_super(p, q) for q in by_value[_key(r[other])] if q != p
        ):
            continue
        kept.append(r)
    return kept


def fold_inverses(
    out_rows: list[dict[str, Term]], in_rows: list[dict[str, Term]], schema: Schema
) -> tuple[list[dict[str, Term]], list[dict[str, Term]]]:
    """Show a relation stated both ways once: ``IL6 producedBy Monocyte`` hides
    ``Monocyte produces IL6`` when that one is only inferred, and the other way round."""
    by_value: dict[tuple[str, str, str], list[dict[str, Term]]] = {}
    for r in out_rows:
        by_value.setdefault(_key(r["o"]), []).append(r)

    def inverses_up(p: str) -> set[str]:
        """Inverses of ``p`` and of its super-properties: what ``p`` implies the other way."""
        out: set[str] = set()
        for q in (p, *schema.super_props.get(p, ())):
            out |= schema.inverses.get(q, set())
        return out

    drop_out: set[int] = set()
    kept_in = []
    for r in in_rows:
        p_in, inferred_in = r["p"].value, r["g"].value == GRAPH_INFERRED
        implied_out = inverses_up(p_in)  # outgoing relations this incoming one implies
        hidden = False
        for o in by_value.get(_key(r["s"]), []):
            p_out, inferred_out = o["p"].value, o["g"].value == GRAPH_INFERRED
            implies_in = p_in in inverses_up(p_out)
            if p_out in implied_out and implies_in:  # the same relation, both ways
                if inferred_out and not inferred_in:
                    drop_out.add(id(o))
                elif inferred_in:
                    hidden = True
            elif p_out in implied_out and inferred_out:  # incoming is the more specific
                drop_out.add(id(o))
            elif implies_in and inferred_in:  # outgoing is the more specific
                hidden = True
        if not hidden:
            kept_in.append(r)
    return [r for r in out_rows if id(r) not in drop_out], kept_in


def add_trees(
    view: TermView, schema: Schema, catalog: Catalog, iri: str, types: set[str], root: str
) -> None:
    """The class hierarchy (types up to the top) and the family tree of a term."""
    anc = schema.class_ancestors
    if iri in anc or any(iri in ups for ups in schema.class_parents.values()):
        view.class_tree = schema.tree(catalog, [iri], anc, schema.class_parents, root)
        view.subclasses = sorted(
            (catalog.node(Term("uri", c), root)
             for c, ups in schema.class_parents.items() if iri in ups),
            key=lambda n: n.text.casefold(),
        )
    elif types:
        direct = {t for t in types if not any(t in anc.get(u, set()) for u in types)}
        view.class_tree = schema.tree(catalog, direct, anc, schema.class_parents, root)
    fam_anc, fam_parents = schema.family_ancestors, schema.family_parents
    if iri in fam_anc:
        view.family_tree = schema.tree(catalog, [iri], fam_anc, fam_parents, root,
                                       schema.family_counts)
        view.subfamilies = sorted(
            (catalog.node(Term("uri", f), root) for f, ups in fam_parents.items() if iri in ups),
            key=lambda n: n.text.casefold(),
        )
    else:
        fams = {st.obj.value for st in view.outgoing
                if st.predicate.value == catalog.base + "memberOfFamily"}
        direct = {f for f in fams if not any(f in fam_anc.get(g, set()) for g in fams)}
        if direct:
            view.family_tree = schema.tree(catalog, direct, fam_anc, fam_parents, root,
                                           schema.family_counts)
