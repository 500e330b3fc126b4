"""The ligand-receptor pairs of a built release, read by SPARQL, for human or mouse genes.

Shared by the single-cell exports (flat table, LIANA, CellPhoneDB): a pair is an asserted
`cytokg:bindsReceptor` between a ligand and a receptor, each a single gene or a complex whose
chains are its `cytokg:hasSubunit`s, with the sources annotated on the asserted triple. Mouse
pairs exist only where every gene of the pair has a one-to-one mouse orthologue.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from kg.store import GRAPH_ASSERTED, BindingsResult, QueryEngine, open_store
from kg.vocab import BASE

PREFIXES = f"""PREFIX cytokg: <{BASE}>
PREFIX owl: <http://www.w3.org/2002/07/owl#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX dcterms: <http://purl.org/dc/terms/>
"""

# Each asserted binding and each source annotated on it (sources read as in query 47).
PAIRS_QUERY = PREFIXES + f"""SELECT ?ligand ?receptor ?source WHERE {{
  GRAPH <{GRAPH_ASSERTED}> {{ ?ligand cytokg:bindsReceptor ?receptor }}
  OPTIONAL {{
    ?axiom a owl:Axiom ; owl:annotatedSource ?ligand ;
           owl:annotatedProperty cytokg:bindsReceptor ; owl:annotatedTarget ?receptor ;
           dcterms:source ?source .
  }}
}}"""

# The participants of the pairs: their label, subunits and whether they are decoys.
PARTICIPANTS_QUERY = PREFIXES + """SELECT DISTINCT ?entity ?label ?subunit ?decoy WHERE {
  { ?entity cytokg:bindsReceptor [] } UNION { [] cytokg:bindsReceptor ?entity }
  OPTIONAL { ?entity rdfs:label ?label FILTER (lang(?label) = "en") }
  OPTIONAL { ?entity cytokg:hasSubunit ?subunit }
  BIND (EXISTS { ?entity a cytokg:DecoyReceptor } AS ?decoy)
}"""

# The genes that make up the participants, with their identifiers and mouse orthology.
GENES_QUERY = PREFIXES + """SELECT DISTINCT ?gene ?symbol ?hgnc ?ncbi ?uniprot ?decoy ?secreted
    ?kind ?mouse ?mouseSymbol ?mgi ?ensembl ?hcop WHERE {
  { ?gene cytokg:bindsReceptor [] FILTER NOT EXISTS { ?gene cytokg:hasSubunit [] } }
  UNION { [] cytokg:bindsReceptor ?gene FILTER NOT EXISTS { ?gene cytokg:hasSubunit [] } }
  UNION { { [] cytokg:bindsReceptor ?complex } UNION { ?complex cytokg:bindsReceptor [] }
          ?complex cytokg:hasSubunit ?gene }
  OPTIONAL { ?gene cytokg:symbol ?symbol }
  OPTIONAL { ?gene cytokg:hgncId ?hgnc }
  OPTIONAL { ?gene cytokg:ncbiGeneId ?ncbi }
  OPTIONAL { ?gene cytokg:uniprotId ?uniprot }
  BIND (EXISTS { ?gene a cytokg:DecoyReceptor } AS ?decoy)
  BIND (EXISTS { ?gene a ?secretedKind
                 VALUES ?secretedKind { cytokg:Cytokine cytokg:CytokineSubunit } } AS ?secreted)
  OPTIONAL { ?gene cytokg:mouseOrthology ?kind }
  OPTIONAL {
    ?gene cytokg:orthologousTo ?mouse . ?mouse a cytokg:MouseGene ; cytokg:symbol ?mouseSymbol .
    OPTIONAL { ?mouse cytokg:mgiId ?mgi }
    OPTIONAL { ?mouse cytokg:ensemblGeneId ?ensembl }
    OPTIONAL {
      ?axiom a owl:Axiom ; owl:annotatedSource ?gene ;
             owl:annotatedProperty cytokg:orthologousTo ; owl:annotatedTarget ?mouse ;
             dcterms:source ?hcop .
    }
  }
}"""

# The sources of the genes and complexes of the pairs, and of the mouse genes.
ENTITY_SOURCES_QUERY = PREFIXES + """SELECT DISTINCT ?entity ?source WHERE {
  { ?entity cytokg:bindsReceptor [] } UNION { [] cytokg:bindsReceptor ?entity }
  UNION { { ?complex cytokg:bindsReceptor [] } UNION { [] cytokg:bindsReceptor ?complex }
          ?complex cytokg:hasSubunit ?entity }
  UNION { ?entity a cytokg:MouseGene }
  ?entity dcterms:source ?source .
}"""

# Publications (PMID, DOI) that Source individuals name, so rows can cite them directly.
SOURCES_QUERY = PREFIXES + """SELECT DISTINCT ?source ?pmid ?doi WHERE {
  ?source a cytokg:Source .
  OPTIONAL { ?source cytokg:pmid ?pmid }
  OPTIONAL { ?source cytokg:doi ?doi }
  FILTER (BOUND(?pmid) || BOUND(?doi))
}"""

ONE_TO_ONE = BASE + "OneToOneOrthology"


class ExportError(Exception):
    """The release cannot be exported as asked; the message says why."""


@dataclass(frozen=True, order=True)
class Gene:
    """One gene of a pair in the species exported, with the identifiers that name it."""

    symbol: str
    entity: str  # CURIE of the cytokg individual (cytokg:IL6, cytokg:Mm_Il6)
    gene_id: str  # HGNC:... for human, MGI:... for mouse
    uniprot: str  # the human protein's accession (a mouse gene keeps its human orthologue's)
    ensembl: str
    human_symbol: str
    decoy: bool = False
    secreted: bool = False  # a cytokine or cytokine subunit: secreted by our definition
    sources: tuple[str, ...] = ()  # the sources of the gene entity
    orthology: tuple[str, ...] = ()  # the orthology predictions behind a mouse gene


@dataclass(frozen=True, order=True)
class Participant:
    """A ligand or receptor: one gene, or a complex of genes named by its cytokg term."""

    entity: str
    label: str
    genes: tuple[Gene, ...]
    is_complex: bool
    decoy: bool  # the term, or one of its chains, is a cytokg:DecoyReceptor
    sources: tuple[str, ...] = ()  # the sources of a complex's own term


@dataclass(frozen=True, order=True)
class Pair:
    """A ligand binding a receptor, with the sources of the asserted binding."""

    ligand: Participant
    receptor: Participant
    sources: tuple[str, ...]
    publications: tuple[str, ...]

    @property
    def interaction_type(self) -> str:
        """'decoy' when the receptor binds without passing the signal on, else 'signalling'."""
        return "decoy" if self.receptor.decoy else "signalling"


@dataclass
class PairSet:
    """The pairs of one species, and the human pairs that have no mouse form, with reasons."""

    species: str
    version: str
    pairs: list[Pair]
    dropped: list[tuple[Pair, str]] = field(default_factory=list)


def curie(iri: str) -> str:
    """Our terms as cytokg: CURIEs, the prefix the exports document."""
    return "cytokg:" + iri.removeprefix(BASE) if iri.startswith(BASE) else iri


def select(store: QueryEngine, text: str) -> list[dict[str, str]]:
    """Run a SELECT and return its rows as dicts of plain values (absent variables left out)."""
    result = store.query(text)
    if not isinstance(result, BindingsResult):
        raise ExportError("an export query did not return a table")
    table, _ = result.take(None)
    names = list(result.variables)
    return [{n.lstrip("?"): t.value for n, t in zip(names, row, strict=True) if t is not None}
            for row in table]


def release_version(release: Path) -> str:
    """The version of the release, from its manifest, so the exported rows can name it."""
    try:
        manifest = json.loads((release / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return ""
    return str(manifest.get("version", ""))


def open_release(release: Path) -> QueryEngine:
    """Open the built release's store, or say that it must be built first."""
    try:
        return open_store(release)
    except FileNotFoundError as exc:
        raise ExportError(f"{exc}; run 'cytokg build' first") from None


def read_pairs(release: Path, species: str = "human") -> PairSet:
    """Read the ligand-receptor pairs of a built release, for human or mouse genes."""
    if species not in ("human", "mouse"):
        raise ExportError(f"unknown species {species!r}; use human or mouse")
    return pairs_from_store(open_release(release), release_version(release), species)


def pairs_from_store(store: QueryEngine, version: str, species: str) -> PairSet:
    """The pairs of one species read from any query engine holding the release's graphs."""
    entity_sources: dict[str, set[str]] = defaultdict(set)
    for row in select(store, ENTITY_SOURCES_QUERY):
        entity_sources[curie(row["entity"])].add(curie(row["source"]))
    human, mouse, reasons = read_genes(store, entity_sources)
    participants = read_participants(store, human, entity_sources)
    pairs = read_human_pairs(store, participants)
    result = PairSet(species, version, pairs)
    if species == "mouse":
        result.pairs = []
        for pair in pairs:
            lost = [g for g in pair.ligand.genes + pair.receptor.genes if g.entity not in mouse]
            if lost:
                result.dropped.append((pair, "; ".join(reasons[g.entity] for g in lost)))
                continue
            ligand, receptor = to_mouse(pair.ligand, mouse), to_mouse(pair.receptor, mouse)
            orthology = {s for g in ligand.genes + receptor.genes for s in g.orthology}
            result.pairs.append(Pair(ligand, receptor,
                                     tuple(sorted(set(pair.sources) | orthology)),
                                     pair.publications))
    result.pairs.sort(key=lambda p: (p.ligand.entity, p.receptor.entity))
    return result


def to_mouse(participant: Participant, mouse: dict[str, Gene]) -> Participant:
    """The mouse form of a participant: its genes replaced by their one-to-one orthologues.

    A single gene becomes the mouse gene's term; a complex keeps its cytokg term (a human
    complex, whose chains all have one-to-one mouse orthologues).
    """
    genes = tuple(sorted(mouse[g.entity] for g in participant.genes))
    entity = participant.entity if participant.is_complex else genes[0].entity
    label = participant.label if participant.is_complex else genes[0].symbol
    return Participant(entity, label, genes, participant.is_complex, participant.decoy,
                       participant.sources if participant.is_complex else genes[0].sources)


def read_human_pairs(store: QueryEngine, participants: dict[str, Participant]) -> list[Pair]:
    """Every asserted binding between two participants, with its sources and publications."""
    publications: dict[str, set[str]] = defaultdict(set)
    for row in select(store, SOURCES_QUERY):
        if "pmid" in row:
            publications[row["source"]].add(f"PMID:{row['pmid'].removeprefix('PMID:')}")
        if "doi" in row:
            publications[row["source"]].add(f"DOI:{row['doi'].removeprefix('DOI:')}")
    bindings: dict[tuple[str, str], set[str]] = defaultdict(set)
    for row in select(store, PAIRS_QUERY):
        found = bindings[(row["ligand"], row["receptor"])]
        if "source" in row:
            found.add(row["source"])
    pairs = []
    for (ligand, receptor), sources in sorted(bindings.items()):
        if not sources:
            raise ExportError(f"{curie(ligand)} bindsReceptor {curie(receptor)} has no source")
        cited = tuple(sorted({p for s in sources for p in publications[s]}))
        pairs.append(Pair(participants[ligand], participants[receptor],
                          tuple(sorted(curie(s) for s in sources)), cited))
    return pairs


def read_genes(store: QueryEngine, entity_sources: dict[str, set[str]]
               ) -> tuple[dict[str, Gene], dict[str, Gene], dict[str, str]]:
    """Read every gene of a pair as a human Gene and, where one-to-one, as its mouse Gene.

    Keys are the genes' CURIEs; the third map says why a gene has no mouse form.
    """
    by_gene: dict[str, list[dict[str, str]]] = defaultdict(list)
    for row in select(store, GENES_QUERY):
        by_gene[curie(row["gene"])].append(row)
    human: dict[str, Gene] = {}
    mouse: dict[str, Gene] = {}
    reasons: dict[str, str] = {}
    for key, found in sorted(by_gene.items()):
        first = found[0]
        if "symbol" not in first:
            raise ExportError(f"{key} is a gene of a pair but has no cytokg:symbol")
        if "uniprot" not in first:
            raise ExportError(f"{key} is a gene of a pair but has no cytokg:uniprotId")
        decoy, secreted = first.get("decoy") == "true", first.get("secreted") == "true"
        human[key] = Gene(first["symbol"], key, first.get("hgnc", ""), first["uniprot"], "",
                          first["symbol"], decoy, secreted, tuple(sorted(entity_sources[key])))
        kinds = {r["kind"] for r in found if "kind" in r}
        mice = {r["mouse"] for r in found if "mouse" in r}
        if kinds != {ONE_TO_ONE} or len(mice) != 1:
            kind = ", ".join(sorted(curie(k) for k in kinds)) or "no orthology statement"
            reasons[key] = f"{first['symbol']} ({kind.removeprefix('cytokg:')})"
            continue
        rows = [r for r in found if "mouse" in r]
        m, mouse_key = rows[0], curie(rows[0]["mouse"])
        orthology = {curie(r["hcop"]) for r in rows if "hcop" in r}
        mouse[key] = Gene(m["mouseSymbol"], mouse_key, m.get("mgi", ""), first["uniprot"],
                          m.get("ensembl", ""), first["symbol"], decoy, secreted,
                          tuple(sorted(entity_sources[mouse_key] | orthology)),
                          tuple(sorted(orthology)))
    return human, mouse, reasons


def read_participants(store: QueryEngine, genes: dict[str, Gene],
                      entity_sources: dict[str, set[str]]) -> dict[str, Participant]:
    """Group the genes into the ligands and receptors of the pairs, keyed by their full IRI."""
    by_entity: dict[str, list[dict[str, str]]] = defaultdict(list)
    for row in select(store, PARTICIPANTS_QUERY):
        by_entity[row["entity"]].append(row)
    participants: dict[str, Participant] = {}
    for iri, found in sorted(by_entity.items()):
        subunits = sorted({curie(r["subunit"]) for r in found if "subunit" in r})
        members = subunits or [curie(iri)]
        label = min((r["label"] for r in found if "label" in r), default="")
        chosen = tuple(sorted(genes[m] for m in members))
        decoy = any(r.get("decoy") == "true" for r in found) or any(g.decoy for g in chosen)
        participants[iri] = Participant(curie(iri), label, chosen, bool(subunits), decoy,
                                        tuple(sorted(entity_sources[curie(iri)])))
    return participants
