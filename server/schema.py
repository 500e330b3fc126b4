"""What the pages need to know about the release's schema, read once at app start.

The property hierarchy (to show each relation once, under its most specific property, with its
RO/BFO mapping as a note), the named-class and family hierarchies (the trees on term pages and
the catalogue on the home page), class expressions rendered Manchester-style, counts, and the
one table of identifier link templates. Everything comes from the release by SPARQL; nothing
here reasons beyond following the released edges.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from kg.store import QueryEngine, Term

from .terms import ALT_LABEL, HIDDEN_TYPES, OWL, RDF_TYPE, RDFS, Catalog, Node, select

RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
SUBCLASS = RDFS + "subClassOf"
SUBPROPERTY = RDFS + "subPropertyOf"
EQUIVALENT_PROPERTY = OWL + "equivalentProperty"
INVERSE = OWL + "inverseOf"
IN_TAXON = "http://purl.obolibrary.org/obo/RO_0002162"
OBO = "http://purl.obolibrary.org/obo/"
BINOMIAL = re.compile(r"^[A-Z][a-z]+ [a-z]+$")  # a species' scientific name: Homo sapiens
#: How pages name the OWL and RDFS properties that a term page of a class or property shows.
VOCABULARY_LABELS = {
    SUBCLASS: "subclass of",
    OWL + "equivalentClass": "equivalent to",
    SUBPROPERTY: "subproperty of",
    EQUIVALENT_PROPERTY: "equivalent property",
    INVERSE: "inverse of",
    RDFS + "domain": "domain",
    RDFS + "range": "range",
    RDFS + "comment": "comment",
    RDFS + "seeAlso": "see also",
    OWL + "propertyChainAxiom": "property chain",
    OWL + "disjointWith": "disjoint with",
    OWL + "versionIRI": "version IRI",
    OWL + "versionInfo": "version",
    "http://www.w3.org/2004/02/skos/core#notation": "notation",
    "http://www.w3.org/2004/02/skos/core#exactMatch": "exact match",
    "http://www.w3.org/2004/02/skos/core#closeMatch": "close match",
    "http://www.w3.org/2004/02/skos/core#broadMatch": "broad match",
    "http://www.w3.org/2004/02/skos/core#narrowMatch": "narrow match",
    "http://www.w3.org/2004/02/skos/core#relatedMatch": "related match",
}
# ---------------------------------------------------------------- identifier links (one table)

#: CURIE prefix -> (database name, page URL template taking the local identifier). Prefixes of
#: OBO ontologies need no row: their PURL (from the release's context.jsonld) is their page.
LINK_TEMPLATES: dict[str, tuple[str, str]] = {
    "HGNC": ("HGNC", "https://www.genenames.org/data/gene-symbol-report/#!/hgnc_id/HGNC:{}"),
    "NCBIGene": ("NCBI Gene", "https://www.ncbi.nlm.nih.gov/gene/{}"),
    "UniProtKB": ("UniProt", "https://www.uniprot.org/uniprotkb/{}"),
    "MGI": ("MGI", "https://www.informatics.jax.org/marker/MGI:{}"),
    "ensembl": ("Ensembl", "https://www.ensembl.org/id/{}"),
    "PMID": ("PubMed", "https://pubmed.ncbi.nlm.nih.gov/{}/"),
    "doi": ("DOI", "https://doi.org/{}"),
    "drugbank": ("DrugBank", "https://go.drugbank.com/drugs/{}"),
    "UNII": ("UNII", "https://precision.fda.gov/uniisearch/srs/unii/{}"),
    "wikipedia.en": ("Wikipedia", "https://en.wikipedia.org/wiki/{}"),
}
#: Our datatype properties holding a database identifier -> the CURIE prefix of that database.
IDENTIFIER_PREFIXES: dict[str, str] = {
    "hgncId": "HGNC",
    "ncbiGeneId": "NCBIGene",
    "uniprotId": "UniProtKB",
    "mgiId": "MGI",
    "ensemblGeneId": "ensembl",
    "pmid": "PMID",
    "doi": "doi",
    "doid": "DOID",
    "uniiId": "UNII",
}


@dataclass(frozen=True)
class Identifier:
    """An identifier as a page shows it: database name, the identifier, the page it links to."""

    database: str
    text: str
    href: str | None


def identifier_link(catalog: Catalog, prefix: str, local: str) -> tuple[str, str | None]:
    """Database name and page URL for ``prefix:local`` (OBO PURLs from the release's prefixes)."""
    if prefix in LINK_TEMPLATES:
        name, template = LINK_TEMPLATES[prefix]
        return name, template.format(local)
    namespace = dict((p, ns) for p, ns in catalog.prefixes).get(prefix)
    if namespace is not None and namespace.startswith(OBO):
        return prefix, namespace + local
    return prefix, None


#: Databases whose identifiers are written bare (``P05231``, ``3569``, ``DB06273``); the
#: others are written as CURIEs (``HGNC:6018``, ``CL:0000084``, ``PMID:20116334``).
BARE = frozenset({"UniProtKB", "NCBIGene", "ensembl", "doi", "drugbank", "UNII", "wikipedia.en"})


def identifier_text(prefix: str, local: str) -> str:
    """How an identifier is written on a page."""
    return local if prefix in BARE else f"{prefix}:{local}"


def literal_identifier(catalog: Catalog, prop_local: str, value: str) -> Identifier:
    """A database identifier held as a literal by one of our properties (``hgncId``)."""
    prefix = IDENTIFIER_PREFIXES[prop_local]
    local = value.split(":", 1)[1] if value.upper().startswith(prefix.upper() + ":") else value
    name, href = identifier_link(catalog, prefix, local)
    return Identifier(name, identifier_text(prefix, local), href)


def iri_identifier(catalog: Catalog, iri: str) -> Identifier:
    """A mapping target IRI as a labelled identifier linking to the database's own page."""
    curie = catalog.curie(iri)
    if curie is None:
        return Identifier("", iri, iri)
    prefix, local = curie.split(":", 1)
    name, href = identifier_link(catalog, prefix, local)
    return Identifier(name, identifier_text(prefix, local), href or iri)


# ---------------------------------------------------------------- trees


@dataclass
class TreeNode:
    """One class (or family) of a small hierarchy tree, with its children."""

    node: Node
    marked: bool = False  # the term itself, or one of its direct types
    count: int | None = None  # members, for families
    children: list[TreeNode] = field(default_factory=list)


def closure(edges: dict[str, set[str]]) -> dict[str, set[str]]:
    """Every strict ancestor of each key (cycles tolerated, the key itself left out)."""
    result: dict[str, set[str]] = {}
    for start in edges:
        seen: set[str] = set()
        stack = list(edges.get(start, ()))
        while stack:
            x = stack.pop()
            if x in seen or x == start:
                continue
            seen.add(x)
            stack.extend(edges.get(x, ()))
        result[start] = seen
    return result


def reduce_parents(ancestors: dict[str, set[str]]) -> dict[str, set[str]]:
    """Direct parents only: an ancestor is direct unless it is an ancestor of another one."""
    direct: dict[str, set[str]] = {}
    for c, ups in ancestors.items():
        ups = {u for u in ups if c not in ancestors.get(u, set())}  # drop equivalents
        direct[c] = {u for u in ups if not any(u in ancestors.get(v, set()) for v in ups - {u})}
    return direct


# ---------------------------------------------------------------- class expressions


#: A rendered class expression: plain text pieces and linked terms, in reading order.
Expression = list[Any]  # str | Node

RESTRICTIONS = {OWL + "someValuesFrom": "some", OWL + "allValuesFrom": "only",
                OWL + "hasValue": "value"}
CARDINALITIES = {OWL + "minCardinality": "min", OWL + "maxCardinality": "max",
                 OWL + "cardinality": "exactly", OWL + "minQualifiedCardinality": "min",
                 OWL + "maxQualifiedCardinality": "max", OWL + "qualifiedCardinality": "exactly"}
EXPRESSION_PREDICATES = (RDF + "first", RDF + "rest", OWL + "onProperty", OWL + "intersectionOf",
                         OWL + "unionOf", OWL + "complementOf", OWL + "oneOf", OWL + "onClass",
                         *RESTRICTIONS, *CARDINALITIES)


class ExpressionRenderer:
    """Manchester-style text of the blank-node class expressions and lists of the release."""

    def __init__(self, catalog: Catalog, triples: dict[str, dict[str, list[Term]]]) -> None:
        """Keep the blank nodes' outgoing triples, keyed by node and predicate."""
        self.catalog = catalog
        self.triples = triples

    def render(self, t: Term, depth: int = 0, nested: bool = False) -> Expression:
        """One term: a labelled link, a literal, or a (parenthesised when nested) expression."""
        if t.kind != "bnode":
            return [self.catalog.node(t)]
        d = self.triples.get(t.value, {})
        if depth > 12 or not d:
            return ["…"]
        one = lambda p: d[p][0] if d.get(p) else None  # noqa: E731 - local shorthand
        parts: Expression
        if one(OWL + "intersectionOf") or one(OWL + "unionOf"):
            op, lst = (" and ", one(OWL + "intersectionOf")) if one(OWL + "intersectionOf") else (
                " or ", one(OWL + "unionOf"))
            parts = self.join([self.render(x, depth + 1, True) for x in self.items(lst)], op)
        elif one(OWL + "complementOf"):
            parts = ["not ", *self.render(one(OWL + "complementOf"), depth + 1, True)]
        elif one(OWL + "oneOf"):
            items = [self.render(x, depth + 1, True) for x in self.items(one(OWL + "oneOf"))]
            return ["{", *self.join(items, ", "), "}"]
        elif one(OWL + "onProperty"):
            prop = self.render(one(OWL + "onProperty"), depth + 1, True)
            parts = ["…"]
            for p, word in RESTRICTIONS.items():
                if one(p):
                    parts = [*prop, f" {word} ", *self.render(one(p), depth + 1, True)]
            for p, word in CARDINALITIES.items():
                if one(p):
                    parts = [*prop, f" {word} {one(p).value}"]  # type: ignore[union-attr]
                    if one(OWL + "onClass"):
                        parts += [" ", *self.render(one(OWL + "onClass"), depth + 1, True)]
        elif one(RDF + "first") is not None:
            items = [self.render(x, depth + 1, True) for x in self.items(t)]
            return self.join(items, " ∘ ")
        else:
            return ["…"]
        return ["(", *parts, ")"] if nested else parts

    def items(self, lst: Term | None) -> list[Term]:
        """The members of an RDF list, in order (bounded)."""
        out: list[Term] = []
        while lst is not None and lst.kind == "bnode" and len(out) < 200:
            d = self.triples.get(lst.value, {})
            if not d.get(RDF + "first"):
                break
            out.append(d[RDF + "first"][0])
            lst = d.get(RDF + "rest", [None])[0]
        return out

    @staticmethod
    def join(items: list[Expression], sep: str) -> Expression:
        """Items separated by ``sep``."""
        out: Expression = []
        for i, item in enumerate(items):
            if i:
                out.append(sep)
            out.extend(item)
        return out


# ---------------------------------------------------------------- the schema


@dataclass
class Schema:
    """Hierarchies, property mappings, expressions and counts of one release."""

    super_props: dict[str, set[str]]  # property -> every strict super-property
    equivalent_props: dict[str, set[str]]
    inverses: dict[str, set[str]]
    class_ancestors: dict[str, set[str]]
    class_parents: dict[str, set[str]]
    family_ancestors: dict[str, set[str]]
    family_parents: dict[str, set[str]]
    family_counts: dict[str, int]
    families: list[str]
    expressions: dict[tuple[str, str], list[Expression]]  # (subject, predicate) -> expressions
    counts: dict[str, int]
    taxon_props: frozenset[str]
    scientific_names: dict[str, str] = field(default_factory=dict)  # organism -> binomial

    @classmethod
    def load(cls, engine: QueryEngine, catalog: Catalog, manifest: dict[str, Any]) -> Schema:
        """Read the hierarchies and expressions with a few bounded queries at app start."""
        base = catalog.base
        for iri, label in VOCABULARY_LABELS.items():
            catalog.labels.setdefault(iri, label)

        def pairs(query: str) -> Iterable[tuple[str, str]]:
            for row in select(engine, query):
                if len(row) >= 2 and row[0] is not None and row[1] is not None:
                    yield row[0].value, row[1].value

        iri_pair = "FILTER(isIRI(?a) && isIRI(?b) && ?a != ?b)"
        sub: dict[str, set[str]] = {}
        equiv: dict[str, set[str]] = {}
        for a, b in pairs(f"SELECT DISTINCT ?a ?b WHERE {{ ?a <{SUBPROPERTY}> ?b {iri_pair} }}"):
            sub.setdefault(a, set()).add(b)
        eq_q = f"SELECT DISTINCT ?a ?b WHERE {{ ?a <{EQUIVALENT_PROPERTY}> ?b {iri_pair} }}"
        for a, b in pairs(eq_q):
            for x, y in ((a, b), (b, a)):
                equiv.setdefault(x, set()).add(y)
                sub.setdefault(x, set()).add(y)
        inverses: dict[str, set[str]] = {}
        for a, b in pairs(f"SELECT DISTINCT ?a ?b WHERE {{ ?a <{INVERSE}> ?b "
                          "FILTER(isIRI(?a) && isIRI(?b)) }"):
            inverses.setdefault(a, set()).add(b)
            inverses.setdefault(b, set()).add(a)
        for row in select(engine, f"SELECT DISTINCT ?p WHERE {{ ?p <{RDF_TYPE}> "
                                  f"<{OWL}SymmetricProperty> FILTER isIRI(?p) }}"):
            if row[0] is not None:
                inverses.setdefault(row[0].value, set()).add(row[0].value)
        super_props = closure(sub)

        cls_edges: dict[str, set[str]] = {}
        hidden = " ".join(f"<{t}>" for t in HIDDEN_TYPES)
        for a, b in pairs(f"SELECT DISTINCT ?a ?b WHERE {{ ?a <{SUBCLASS}> ?b {iri_pair} "
                          f"FILTER(?b NOT IN ({hidden.replace('> <', '>, <')})) }}"):
            cls_edges.setdefault(a, set()).add(b)
        class_ancestors = closure(cls_edges)

        fam_edges: dict[str, set[str]] = {}
        for a, b in pairs(f"SELECT DISTINCT ?a ?b WHERE {{ ?a <{base}subfamilyOf> ?b "
                          f"{iri_pair} }}"):
            fam_edges.setdefault(a, set()).add(b)
        typed = select(engine, f"SELECT DISTINCT ?f WHERE {{ ?f <{RDF_TYPE}> "
                               f"<{base}ProteinFamily> FILTER isIRI(?f) }}")
        families = sorted({row[0].value for row in typed if row[0] is not None} | set(fam_edges))
        for f in families:
            fam_edges.setdefault(f, set())
        family_ancestors = closure(fam_edges)
        family_counts = {f: 0 for f in families}
        for f, n in pairs(f"SELECT ?f (COUNT(DISTINCT ?m) AS ?n) WHERE {{ ?m "
                          f"<{base}memberOfFamily> ?f }} GROUP BY ?f"):
            family_counts[f] = int(n)

        # class expressions: the blank nodes' own triples, then which named term points at them
        # (one query per predicate: each is read from the store's predicate index, where a
        # filter on ?p would test every triple of a large store)
        bnodes: dict[str, dict[str, list[Term]]] = {}
        for pred in EXPRESSION_PREDICATES:
            for s, o in select(engine, f"SELECT ?s ?o WHERE {{ ?s <{pred}> ?o "
                                       "FILTER(isBlank(?s)) }"):
                if s is not None and o is not None:
                    bnodes.setdefault(s.value, {}).setdefault(pred, []).append(o)
        renderer = ExpressionRenderer(catalog, bnodes)
        expressions: dict[tuple[str, str], list[Expression]] = {}
        for s, p, o in select(engine, "SELECT ?s ?p ?o WHERE { ?s ?p ?o "
                                      "FILTER(isIRI(?s) && isBlank(?o)) }"):
            if s is not None and p is not None and o is not None:
                expressions.setdefault((s.value, p.value), []).append(renderer.render(o))

        counts = {"triples": int(manifest.get("counts", {}).get("full", 0))}
        for key, local in (("cytokines", "Cytokine"), ("receptors", "CytokineReceptor"),
                           ("drugs", "Drug"), ("diseases", "Disease"),
                           ("cell types", "CellType"), ("families", "ProteinFamily")):
            rows = select(engine, f"SELECT (COUNT(DISTINCT ?x) AS ?n) WHERE {{ ?x <{RDF_TYPE}> "
                                  f"<{base}{local}> FILTER isIRI(?x) }}")
            counts[key] = int(rows[0][0].value) if rows and rows[0][0] is not None else 0
        if not counts["triples"]:
            rows = select(engine, "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }")
            counts["triples"] = int(rows[0][0].value) if rows and rows[0][0] is not None else 0
        taxon = frozenset({IN_TAXON, *(p for p, ups in super_props.items() if IN_TAXON in ups)})
        props = " ".join(f"<{p}>" for p in sorted(taxon))
        scientific: dict[str, str] = {}
        for o, alt in pairs(f"SELECT DISTINCT ?o ?alt WHERE {{ VALUES ?p {{ {props} }} ?x ?p ?o . "
                            f"?o <{ALT_LABEL}> ?alt }} ORDER BY ?o ?alt"):
            if BINOMIAL.match(alt) and o not in scientific:
                scientific[o] = alt
        return cls(
            super_props=super_props,
            equivalent_props=equiv,
            inverses=inverses,
            class_ancestors=class_ancestors,
            class_parents=reduce_parents(class_ancestors),
            family_ancestors=family_ancestors,
            family_parents=reduce_parents(family_ancestors),
            family_counts=family_counts,
            families=families,
            expressions=expressions,
            counts=counts,
            taxon_props=taxon,
            scientific_names=scientific,
        )

    # ------------------------------------------------------------ property notes

    def mappings_of(self, prop: str, base: str) -> list[tuple[str, str]]:
        """The properties of other ontologies ours maps to: ("≡" or "⊑", IRI), nearest first."""
        out = []
        for q in sorted(self.super_props.get(prop, ())):
            if not q.startswith(base):
                out.append(("≡" if q in self.equivalent_props.get(prop, ()) else "⊑", q))
        return out

    def is_super(self, general: str, specific: str) -> bool:
        """Whether ``general`` is a strict super-property of ``specific``."""
        return general in self.super_props.get(specific, set())

    # ------------------------------------------------------------ identifiers

    @staticmethod
    def literal_identifier(catalog: Catalog, prop_local: str, value: str) -> Identifier:
        """See :func:`literal_identifier` (a method so that term views need no import)."""
        return literal_identifier(catalog, prop_local, value)

    @staticmethod
    def iri_identifier(catalog: Catalog, iri: str) -> Identifier:
        """See :func:`iri_identifier`."""
        return iri_identifier(catalog, iri)

    # ------------------------------------------------------------ trees

    def tree(
        self,
        catalog: Catalog,
        marked: Iterable[str],
        ancestors: dict[str, set[str]],
        parents: dict[str, set[str]],
        root: str = "",
        counts: dict[str, int] | None = None,
        extra: Iterable[str] = (),
    ) -> list[TreeNode]:
        """The marked nodes and all their ancestors as a forest, top first (DAGs unfolded)."""
        marked = set(marked)
        nodes = set(marked) | set(extra)
        for m in list(nodes):
            nodes |= ancestors.get(m, set())
        children: dict[str, list[str]] = {}
        roots = []
        for n in nodes:
            ups = parents.get(n, set()) & nodes
            if not ups:
                roots.append(n)
            for u in ups:
                children.setdefault(u, []).append(n)

        def label(i: str) -> str:
            return (catalog.labels.get(i) or i).casefold()

        def build(i: str, depth: int) -> TreeNode:
            kids = sorted(children.get(i, []), key=label) if depth < 15 else []
            return TreeNode(
                catalog.node(Term("uri", i), root), i in marked,
                counts.get(i) if counts is not None else None,
                [build(k, depth + 1) for k in kids],
            )

        return [build(r, 0) for r in sorted(roots, key=label)]

