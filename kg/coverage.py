"""How far the graph answers the questions biologists ask first (issue 14), per topic.

Each line of the report is one SPARQL count over the full graph (asserted and inferred): the
members of a denominator that have the knowledge, the size of the denominator, and the members
still without it, so that `cytokg stats` shows both the figure and the work left.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyoxigraph

PREFIXES = """PREFIX cytokg: <https://w3id.org/cytokg/>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
PREFIX owl: <http://www.w3.org/2002/07/owl#>
"""
BASE = "https://w3id.org/cytokg/"

# Denominators: the core cytokines are the individuals of cytokg:Cytokine (single genes and the
# heterodimers); the core genes are every individual with an HGNC identifier.
CYTOKINES = "?x a cytokg:Cytokine ."
GENES = "?x cytokg:hgncId ?hgnc ."
CORE_GENES = "{ ?x a cytokg:Cytokine } UNION { ?x a cytokg:CytokineReceptor } ?x cytokg:hgncId ?h ."
COMPLEXES = "?x a cytokg:ReceptorComplex . FILTER NOT EXISTS { ?x a cytokg:DecoyReceptor }"
SUBSETS = ("VALUES ?x { cytokg:Th1Cell cytokg:Th2Cell cytokg:Th17Cell "
           "cytokg:InducedRegulatoryTCell cytokg:ThymicRegulatoryTCell cytokg:TfhCell "
           "cytokg:Th9Cell cytokg:Th22Cell cytokg:ILC1Cell cytokg:ILC2Cell cytokg:ILC3Cell }")
CHAINS = ("?x a cytokg:CytokineReceptor . FILTER NOT EXISTS { ?x a cytokg:ReceptorComplex } "
          "FILTER NOT EXISTS { ?x a cytokg:DecoyReceptor }")
DRUGS = "?x a cytokg:Drug . FILTER NOT EXISTS { ?x cytokg:recombinantFormOf ?natural }"
# The fields of a drug are counted among the drugs that have a target.
TARGETED = DRUGS + " ?x cytokg:targets ?t0 ."


@dataclass(frozen=True)
class Measure:
    """One coverage figure: which members of which denominator have which knowledge."""

    point: str
    label: str
    denominator: str
    condition: str


MEASURES = (
    Measure("14.1", "drugs acting on cytokines, with a molecular target", DRUGS,
            "?x cytokg:targets ?t ."),
    Measure("14.1", "  ... with a mechanism", TARGETED,
            "?x cytokg:hasMechanism ?m ."),
    Measure("14.1", "  ... with a modality", TARGETED,
            "?x cytokg:hasModality ?m ."),
    Measure("14.1", "  ... with an approved indication", TARGETED,
            "?x cytokg:treats ?d ."),
    Measure("14.1", "  ... with a DrugBank ID", TARGETED,
            "?x skos:exactMatch|skos:closeMatch ?db . "
            "FILTER STRSTARTS(STR(?db), 'https://identifiers.org/drugbank:')"),
    Measure("14.1", "  ... with a ChEBI or UNII ID", TARGETED,
            "{ ?x cytokg:uniiId ?u } UNION { ?x skos:exactMatch|skos:closeMatch ?c . "
            "FILTER STRSTARTS(STR(?c), 'http://purl.obolibrary.org/obo/CHEBI_') }"),
    Measure("14.1", "  ... with a first approval year", TARGETED,
            "?x cytokg:firstApprovalYear ?y ."),
    Measure("14.2", "receptor complexes with a signalling statement", COMPLEXES,
            "{ ?x cytokg:engages|cytokg:couplesToGProtein ?s } UNION "
            "{ ?x cytokg:hasSubunit ?c . ?c cytokg:engages ?s }"),
    Measure("14.2", "core cytokines with a signalling protein (inferred)", CYTOKINES,
            "?x cytokg:signalsThrough|cytokg:signalsViaGProtein ?s ."),
    Measure("14.3", "T-helper and ILC subsets with a polarising cytokine", SUBSETS,
            "?x cytokg:polarisedBy ?c ."),
    Measure("14.3", "  ... with a lineage transcription factor", SUBSETS,
            "?x cytokg:lineageTranscriptionFactor ?t ."),
    Measure("14.3", "  ... with a cytokine they produce", SUBSETS,
            "?x cytokg:produces ?c . ?c a cytokg:Cytokine ."),
    Measure("14.4", "core cytokines linked to a disease", CYTOKINES,
            "?x cytokg:implicatedIn|cytokg:variantsCause ?d . ?d a cytokg:Disease ."),
    Measure("14.4", "monogenic diseases with a causal gene", "?x a cytokg:MonogenicDisease .",
            "?g cytokg:variantsCause ?x ."),
    Measure("14.5", "core cytokines with a producing cell type", CYTOKINES,
            "?x cytokg:producedBy ?cell . ?cell a cytokg:CellType ."),
    Measure("14.5", "receptor chains tied to cells that express them", CHAINS,
            "?x cytokg:expressedBy ?cell . ?cell a cytokg:CellType ."),
    Measure("14.6", "core genes with a mouse orthologue or an explicit none", CORE_GENES,
            "{ ?x cytokg:orthologousTo ?m } UNION { ?x cytokg:mouseOrthology ?kind }"),
    Measure("14.7", "gene entities with their symbol as a literal", GENES,
            "?x cytokg:symbol ?s ."),
    Measure("14.7", "mouse genes with their symbol as a literal", "?x a cytokg:MouseGene .",
            "?x cytokg:symbol ?s ."),
)


@dataclass(frozen=True)
class Coverage:
    """A measured figure: how many have it, out of how many, and which do not."""

    point: str
    label: str
    covered: int
    total: int
    missing: tuple[str, ...]


def short(iri: str) -> str:
    """Name a term of our namespace by its local name."""
    return iri[len(BASE):] if iri.startswith(BASE) else iri


def measure(store: pyoxigraph.Store, m: Measure) -> Coverage:
    """Count the members of the denominator with and without the knowledge."""
    query = (PREFIXES + "SELECT DISTINCT ?x ?has WHERE { " + m.denominator +
             " BIND(EXISTS { " + m.condition + " } AS ?has) }")
    have, missing = set(), set()
    for row in store.query(query):
        (have if row["has"].value == "true" else missing).add(short(row["x"].value))
    return Coverage(m.point, m.label, len(have), len(have) + len(missing),
                    tuple(sorted(missing)))


def coverage(store: pyoxigraph.Store) -> list[Coverage]:
    """Every figure of the coverage report."""
    return [measure(store, m) for m in MEASURES]


def coverage_report(figures: list[Coverage], listed: int = 30) -> str:
    """Render the figures as a table, with the members still without each (the first few)."""
    width = max(len(f.label) for f in figures)
    head = f"{'point':<5}  {'coverage':<{width}}  {'have':>5}  {'of':>5}  {'%':>5}"
    lines = [head + "  still without",
             f"{'-' * 5}  {'-' * width}  -----  -----  -----  -------------"]
    for f in figures:
        share = f"{100 * f.covered / f.total:.0f}" if f.total else "-"
        rest = ", ".join(f.missing[:listed]) + (f" (+{len(f.missing) - listed} more)"
                                                 if len(f.missing) > listed else "")
        lines.append(f"{f.point:<5}  {f.label:<{width}}  {f.covered:>5}  {f.total:>5}  "
                     f"{share:>5}  {rest}")
    return "\n".join(lines) + "\n"
