"""The answers behind the tools: name resolution, term descriptions, pairs, drugs, derivations.

Each function takes the loaded :class:`~server.mcp.runtime.Runtime` and plain arguments, runs
its queries through the runtime's pool and returns the tool's model; a bad argument raises
:class:`BadArgument` naming the parameter.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from kg.explain import Explainer, literal_value, nt_term, quote_literal
from kg.explain import Node as DerivationNode
from kg.exports.pairs import (
    ExportError,
    PairSet,
    pairs_from_store,
    release_version,
)
from kg.exports.pairs import Pair as ExportPair
from kg.exports.pairs import Participant as ExportParticipant
from kg.exports.pairs import curie as export_curie
from kg.store import GRAPH_ASSERTED, GRAPH_INFERRED
from server import errors
from server.limits import Job
from server.search import MAX_QUERY_CHARS, normalize
from server.terms import Node, Statement, nt_of, term_view

from . import models
from .runtime import PoolEngine, QueryFailed, Runtime

RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
OWL = "http://www.w3.org/2002/07/owl#"
DCTERMS_SOURCE = "http://purl.org/dc/terms/source"
GRAPHS = ("full", "asserted", "inferred")
NT_IRI = re.compile(r'^<[^<>"{}|^`\\\x00-\x20]*>$')
NT_LITERAL = re.compile(r'^"(?:[^"\\\n\r]|\\.)*"'
                        r'(?:@[A-Za-z]+(?:-[A-Za-z0-9]+)*|\^\^<[^<>"{}|^`\\\x00-\x20]*>)?$')


class BadArgument(Exception):
    """A tool argument that cannot be used; the message starts with the parameter's name."""


# ------------------------------------------------------------------ names


def resolve(rt: Runtime, text: str, parameter: str) -> str:
    """The IRI of the term a name, symbol, CURIE or IRI stands for, or a BadArgument."""
    name = text.strip()
    if not name:
        raise BadArgument(f"{parameter}: give a term: a name, symbol, CURIE or IRI")
    if len(name) > 2_000:
        raise BadArgument(f"{parameter}: {len(name)} characters is too long for a term name")
    iri = None
    if name.startswith("<") and name.endswith(">"):
        iri = name[1:-1]
    elif "://" in name:
        iri = name
    elif ":" in name:
        prefix, _, local = name.partition(":")
        namespaces = dict(rt.catalog.prefixes)
        if prefix in namespaces:
            iri = namespaces[prefix] + local
    if iri is not None:
        if iri in rt.catalog.terms:
            return iri
        found = [e.iri for e in rt.index.entries if e.text == name or e.text == iri]
        if len(set(found)) == 1:
            return found[0]
        raise BadArgument(f"{parameter}: {name!r} is not a term of this graph; find terms "
                          "with search_terms")
    chosen, candidates = rt.index.resolve_name(name)
    if chosen is not None:
        return chosen
    if candidates:
        shown = ", ".join(f"{rt.curie(c)} ({rt.label(c)})" for c in candidates[:10])
        raise BadArgument(f"{parameter}: {name!r} names several terms: {shown}; pass one "
                          "CURIE")
    hits = rt.index.search(name, 5)
    hint = ("; did you mean " + ", ".join(f"{rt.curie(h.iri)} ({h.label})" for h in hits) + "?"
            if hits else "; find terms with search_terms")
    raise BadArgument(f"{parameter}: no term is named {name!r}{hint}")


def ref(rt: Runtime, iri: str) -> models.Ref:
    """A term as IRI, CURIE and label."""
    return models.Ref(iri=iri, curie=rt.curie(iri), label=rt.label(iri))


def citation(rt: Runtime, iri: str) -> models.Citation:
    """A source IRI as a citation with its PMID and DOI."""
    info = rt.source(iri)
    return models.Citation(iri=iri, label=info.label, pmid=info.pmid, doi=info.doi)


# ------------------------------------------------------------------ search


def search(rt: Runtime, query: str, limit: int) -> models.SearchResult:
    """Ranked terms for a name, synonym, symbol or identifier."""
    if len(query) > MAX_QUERY_CHARS:
        raise BadArgument(f"query: at most {MAX_QUERY_CHARS} characters")
    if not normalize(query):
        raise BadArgument("query: give a name, symbol or identifier with letters or digits")
    hits = []
    for hit in rt.index.search(query, limit):
        types = [ref(rt, t) for t in rt.asserted_types.get(hit.iri, [])]
        hits.append(models.Hit(iri=hit.iri, curie=rt.curie(hit.iri), label=hit.label,
                               types=types, matched=hit.matched, field=hit.field,
                               match=hit.match))
    return models.SearchResult(query=query, results=hits)


# ------------------------------------------------------------------ describe


def describe(rt: Runtime, term: str) -> models.TermDescription:
    """A term's labels, types, identifiers, mappings and relations both ways, with sources."""
    iri = resolve(rt, term, "term")
    try:
        view = term_view(rt.catalog, rt.pool, iri, rt.settings.time_limit, schema=rt.schema)
    except errors.ProtocolError as exc:
        raise QueryFailed(f"term: {exc.message}") from None

    def value(node: Node, expression: list | None = None) -> models.Value:
        if expression is not None:
            text = "".join(piece if isinstance(piece, str)
                           else (rt.catalog.curie(piece.value) or piece.text)
                           for piece in expression)
            return models.Value(kind="expression", value=text, label=text)
        if node.kind == "uri":
            return models.Value(kind="iri", value=node.value, label=node.text,
                                curie=rt.catalog.curie(node.value))
        if node.kind == "bnode":
            return models.Value(kind="expression", value=node.text, label=node.text)
        return models.Value(kind="literal", value=node.value, label=node.value,
                            datatype=node.datatype, lang=node.lang)

    def relation(st: Statement, incoming: bool = False) -> models.Relation:
        other = st.subject if incoming else st.obj
        return models.Relation(property=ref(rt, st.predicate.value),
                               value=value(other, None if incoming else st.expression),
                               inferred=st.inferred,
                               sources=[citation(rt, s.value) for s in st.sources])

    def refs(nodes: list[Node]) -> list[models.Ref]:
        return [ref(rt, n.value) for n in nodes if n.kind == "uri"]

    return models.TermDescription(
        iri=iri, curie=rt.curie(iri), label=view.label, synonyms=view.synonyms,
        symbols=view.symbols, definitions=view.definitions, kinds=view.kinds,
        asserted_types=refs(view.asserted_types), inferred_types=refs(view.inferred_types),
        identifiers=[relation(s) for s in view.identifiers],
        mappings=[relation(s) for s in view.mappings],
        outgoing=[relation(s) for s in view.outgoing],
        incoming=[relation(s, incoming=True) for s in view.incoming + view.members],
        incoming_truncated=view.incoming_truncated,
        sources=[citation(rt, s.value) for s in view.sources],
    )


# ------------------------------------------------------------------ SPARQL


def sparql(rt: Runtime, query: str, graph: str, parameter: str = "query") -> models.SparqlResult:
    """Run a read-only query in the pool under every limit of the endpoint."""
    if not query.strip():
        raise BadArgument(f"{parameter}: give a SPARQL query (SELECT, ASK, CONSTRUCT or "
                          "DESCRIBE)")
    if len(query.encode("utf-8")) > rt.settings.body_limit:
        raise BadArgument(f"{parameter}: at most {rt.settings.body_limit} bytes")
    if graph not in GRAPHS:
        raise BadArgument(f"graph: one of {', '.join(GRAPHS)}")
    default = {"full": None, "asserted": (GRAPH_ASSERTED,), "inferred": (GRAPH_INFERRED,)}[graph]
    limit = rt.settings.row_limit
    reply = rt.run(Job(query, default, None, "json", "turtle", limit), parameter)
    if reply.fmt == "turtle":
        return models.SparqlResult(form="graph", graph=reply.body.decode("utf-8"),
                                   count=reply.count, truncated=reply.truncated, row_limit=limit)
    doc = json.loads(reply.body)
    form = "boolean" if "boolean" in doc else "bindings"
    return models.SparqlResult(form=form, results=doc, count=reply.count,
                               truncated=reply.truncated, row_limit=limit)


# ------------------------------------------------------------------ explain


def explain(rt: Runtime, subject: str, predicate: str, obj: str) -> models.Explanation:
    """The derivation of a triple of the release, from its stored derivation steps."""
    if rt.explainer is None:
        raise QueryFailed("this release has no derivations file; explain is unavailable")
    for name, text in (("subject", subject), ("predicate", predicate), ("object", obj)):
        if not text.strip():
            raise BadArgument(f"{name}: give a CURIE, a local name, an IRI"
                              + (" or a literal" if name == "object" else ""))
        if len(text) > 2_000:
            raise BadArgument(f"{name}: {len(text)} characters is too long")
    prefixes = rt.explainer.prefixes
    for name, text in (("subject", subject), ("predicate", predicate)):
        head, colon, _ = text.strip().partition(":")
        if colon and "://" not in text and not text.strip().startswith("<") \
                and head not in prefixes:
            raise BadArgument(f"{name}: unknown prefix {head!r}; use a full IRI or one of "
                              + ", ".join(sorted(prefixes)))
    explainer = rt.explainer
    try:
        s, p = nt_term(subject, prefixes), nt_term(predicate, prefixes)
    except ValueError as exc:
        raise BadArgument(f"subject or predicate: {exc}") from None
    quoted = obj.strip().startswith('"')
    try:
        o = nt_term(obj, prefixes)
    except ValueError as exc:
        if quoted:
            raise BadArgument(f"object: {exc}") from None
        o = quote_literal(obj.strip())  # a bare word that is no term: its literal
    lexical = None if quoted else obj.strip()
    candidates = [(s, p, o)]
    if lexical is not None:
        candidates += [t for t in explainer.steps
                       if t[0] == s and t[1] == p and literal_value(t[2]) == lexical]
    for triple in candidates:
        if triple in explainer.steps:  # inferred: its stored derivation
            return models.Explanation(found=True,
                                      derivation=derivation(rt, explainer, explainer.tree(triple)))
    return asserted_statement(rt, explainer, (s, p, o), lexical)


def asserted_statement(rt: Runtime, explainer: Explainer, triple: tuple[str, str, str],
                       lexical: str | None) -> models.Explanation:
    """An asserted triple with its sources (looked up in the pool), or absent."""
    s, p, o = triple
    if lexical is not None and not NT_IRI.match(o):
        o = quote_literal(lexical)  # bare text that is no IRI ("interleukin 6"): a literal
    absent = models.Explanation(found=False, derivation=models.DerivationStep(
        triple=list(triple), text=explainer.text(triple), status="absent"))
    if not (NT_IRI.match(s) and NT_IRI.match(p) and (NT_IRI.match(o) or NT_LITERAL.match(o))):
        return absent  # a blank node, or text that is no N-Triples term, names no statement
    same = f"?o = {o}" + (f" || (isLiteral(?o) && STR(?o) = {json.dumps(lexical)})"
                          if lexical is not None else "")
    rows = rt.select(
        f"SELECT ?o ?src WHERE {{ GRAPH <{GRAPH_ASSERTED}> {{ {s} {p} ?o FILTER({same}) "
        f"OPTIONAL {{ ?ax <{OWL}annotatedSource> {s} ; <{OWL}annotatedProperty> {p} ; "
        f"<{OWL}annotatedTarget> ?o ; <{DCTERMS_SOURCE}> ?src }} }} }}", "object")
    if not rows:
        return absent
    exact = [r for r in rows if nt_of(r["o"]) == o]
    chosen = nt_of((exact or rows)[0]["o"]) or o
    sources = sorted({r["src"].value for r in rows if nt_of(r["o"]) == chosen and "src" in r})
    found = (s, p, chosen)
    return models.Explanation(found=True, derivation=models.DerivationStep(
        triple=list(found), text=explainer.text(found), status="asserted",
        sources=[citation(rt, iri) for iri in sources]))


def derivation(rt: Runtime, explainer: Explainer, node: DerivationNode) -> models.DerivationStep:
    """A derivation tree node as the tool's model."""
    return models.DerivationStep(
        triple=list(node.triple), text=explainer.text(node.triple), status=node.status,
        rule=node.rule, axiom=explainer.axiom_texts(node.axiom),
        sources=[citation(rt, s["iri"]) for s in node.sources],
        repeated=node.repeated,
        premises=[] if node.repeated else [derivation(rt, explainer, p) for p in node.premises],
    )


# ------------------------------------------------------------------ pairs


_PAIRS: dict[tuple[str, str], PairSet] = {}  # (release directory, species) -> its pairs


def pair_set(rt: Runtime, species: str) -> PairSet:
    """The release's pairs of one species, read once through the pool (the release never
    changes while it is served), as the LIANA and CellPhoneDB exports read them."""
    key = (str(rt.release_dir), species)
    if key not in _PAIRS:
        store = PoolEngine(rt, "gene")
        try:
            result = pairs_from_store(store, release_version(Path(rt.release_dir)), species)
        except ExportError as exc:
            raise QueryFailed(f"the release's pairs cannot be read: {exc}") from None
        _PAIRS[key] = result
    return _PAIRS[key]


def pairs(rt: Runtime, gene: str, species: str) -> models.PairsResult:
    """The ligand-receptor pairs in which a gene (or a complex it names) takes part."""
    if species not in ("human", "mouse"):
        raise BadArgument("species: human or mouse")
    iri = resolve(rt, gene, "gene")
    key = export_curie(iri)
    symbols = {s.casefold() for s in [gene.strip()]}

    def involves(part: ExportParticipant) -> bool:
        return part.entity == key or any(
            g.entity == key or g.symbol.casefold() in symbols or
            g.human_symbol.casefold() in symbols or g.human_symbol == key.removeprefix("cytokg:")
            for g in part.genes)

    found = pair_set(rt, species)
    shown = [p for p in found.pairs if involves(p.ligand) or involves(p.receptor)]
    dropped = [f"{p.ligand.label} - {p.receptor.label}: no one-to-one mouse orthologue for "
               f"{why}" for p, why in found.dropped if involves(p.ligand) or involves(p.receptor)]
    return models.PairsResult(gene=ref(rt, iri), species=species,
                              pairs=[pair_model(rt, p) for p in shown], not_in_species=dropped)


def pair_model(rt: Runtime, pair: ExportPair) -> models.Pair:
    """A pair of the export as the tool's model, its sources as citations."""
    base = rt.catalog.base

    def iri(c: str) -> str:
        return base + c.removeprefix("cytokg:") if c.startswith("cytokg:") else c

    def participant(p: ExportParticipant) -> models.Participant:
        return models.Participant(
            term=p.entity, label=p.label or p.entity, is_complex=p.is_complex,
            genes=[models.Gene(symbol=g.symbol, term=g.entity, gene_id=g.gene_id,
                               uniprot=g.uniprot) for g in p.genes])

    return models.Pair(ligand=participant(pair.ligand), receptor=participant(pair.receptor),
                       interaction=pair.interaction_type,
                       sources=[citation(rt, iri(s)) for s in pair.sources],
                       publications=list(pair.publications))


# ------------------------------------------------------------------ drugs


def drugs(rt: Runtime, term: str, approved_only: bool, include_kinase_inhibitors: bool
          ) -> models.DrugsResult:
    """Drugs acting on a term (cytokine, chain, receptor complex, kinase), with how and why."""
    iri = resolve(rt, term, "term")
    c = rt.catalog.base
    target_props = f"VALUES ?tp {{ <{c}targets> <{c}targetsComplexSubunit> }}"
    kinase = (
        f"UNION {{ <{iri}> <{c}usesReceptorChain>|<{c}bindsReceptor> ?chain . "
        f"?chain <{c}bindsKinase> ?target . "
        f"GRAPH <{GRAPH_ASSERTED}> {{ ?drug ?tp ?target {target_props} }} "
        f"?drug <{RDF_TYPE}> <{c}Drug> . BIND(\"kinase\" AS ?route) BIND(?target AS ?via) }}"
        if include_kinase_inhibitors else ""
    )
    routes = rt.select(
        "SELECT DISTINCT ?drug ?tp ?target ?route ?via WHERE { "
        f"{{ ?drug <{c}actsOn> <{iri}> . "
        f"GRAPH <{GRAPH_ASSERTED}> {{ ?drug ?tp ?target {target_props} }} "
        f"{{ BIND(<{iri}> AS ?target) BIND(\"direct\" AS ?route) }} "
        f"UNION {{ ?target <{c}subunitOf> <{iri}> BIND(\"chain\" AS ?route) }} "
        f"UNION {{ ?target <{c}subunitOf> ?via . ?via <{c}isReceptorFor> <{iri}> "
        f"BIND(\"receptor\" AS ?route) }} }} {kinase} }}", "term")
    drug_iris = sorted({r["drug"].value for r in routes})
    values_of: dict[tuple[str, str], set[str]] = {}  # (drug, property) -> values
    sources_of: dict[tuple[str, str, str], set[str]] = {}  # (drug, property, value) -> sources
    if drug_iris:
        values = " ".join(f"<{d}>" for d in drug_iris)
        wanted = (f"VALUES ?drug {{ {values} }} VALUES ?p {{ <{c}hasMechanism> <{c}hasModality> "
                  f"<{c}firstApprovalYear> <{c}targets> <{c}targetsComplexSubunit> }}")
        # Two plain lookups: one OPTIONAL joining them was a hundred times slower.
        for row in rt.select(f"SELECT ?drug ?p ?o WHERE {{ {wanted} "
                             f"GRAPH <{GRAPH_ASSERTED}> {{ ?drug ?p ?o }} }}", "term"):
            values_of.setdefault((row["drug"].value, row["p"].value), set()).add(row["o"].value)
        for row in rt.select(
                f"SELECT ?drug ?p ?o ?src WHERE {{ {wanted} GRAPH <{GRAPH_ASSERTED}> {{ "
                f"?ax <{OWL}annotatedSource> ?drug ; <{OWL}annotatedProperty> ?p ; "
                f"<{OWL}annotatedTarget> ?o ; <{DCTERMS_SOURCE}> ?src }} }}", "term"):
            key = (row["drug"].value, row["p"].value, row["o"].value)
            sources_of.setdefault(key, set()).add(row["src"].value)

    def cited(drug: str, prop: str, value: str) -> list[models.Citation]:
        return [citation(rt, s) for s in sorted(sources_of.get((drug, prop, value), ()))]

    def statements(drug: str, prop: str) -> list[models.Statement]:
        return [models.Statement(value=rt.curie(v) if v.startswith("http") else v,
                                 label=rt.label(v) if v.startswith("http") else v,
                                 sources=cited(drug, prop, v))
                for v in sorted(values_of.get((drug, prop), ()))]

    actions = []
    for r in routes:
        drug, prop, target = r["drug"].value, r["tp"].value, r["target"].value
        years = statements(drug, c + "firstApprovalYear")
        if approved_only and not years:
            continue
        via = r.get("via")
        actions.append(models.DrugAction(
            drug=ref(rt, drug), target=ref(rt, target), target_property=rt.curie(prop),
            route=r["route"].value, via=ref(rt, via.value) if via is not None and
            r["route"].value == "receptor" else None,
            target_sources=cited(drug, prop, target),
            mechanisms=statements(drug, c + "hasMechanism"),
            modalities=statements(drug, c + "hasModality"),
            first_approval_year=years[0] if years else None))
    order = {"direct": 0, "chain": 1, "receptor": 2, "kinase": 3}
    actions.sort(key=lambda a: (order[a.route], a.drug.label.casefold(), a.target.curie,
                                a.target_property, a.via.curie if a.via else ""))
    return models.DrugsResult(term=ref(rt, iri), approved_only=approved_only, actions=actions)
