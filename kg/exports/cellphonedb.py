"""The CellPhoneDB v5 input tables: genes, proteins, complexes and interactions as CSV files.

The columns are those of the v5.0.0 `*_input.csv` files of ventolab/cellphonedb-data, which
`cellphonedb.utils.db_utils.create_db` turns into a database; a trailing `sources` column (which
CellPhoneDB ignores) carries our sources. A protein is keyed by its UniProt accession; a mouse
gene keeps its human orthologue's accession as that key, so that mouse symbols (`gene_name`,
`hgnc_symbol`) meet mouse counts. Flags the graph does not state (transmembrane, peripheral,
integrin) are FALSE; `secreted` is TRUE for cytokines and their subunits, `receptor` for chains.
"""

from __future__ import annotations

from kg.exports.files import render_table
from kg.exports.pairs import ExportError, Gene, PairSet, Participant

GENE_HEADER = ("gene_name", "uniprot", "hgnc_symbol", "ensembl", "sources")
PROTEIN_HEADER = (
    "uniprot", "protein_name", "transmembrane", "peripheral", "secreted", "secreted_desc",
    "secreted_highlight", "receptor", "receptor_desc", "integrin", "biosynthetic_pathway_desc",
    "biosynthetic_pathway", "other", "other_desc", "tags", "tags_reason", "tags_description",
    "pfam", "version", "sources",
)
MAX_SUBUNITS = 5
COMPLEX_HEADER = (
    "complex_name", *(f"uniprot_{i}" for i in range(1, MAX_SUBUNITS + 1)), "transmembrane",
    "peripheral", "secreted", "secreted_desc", "secreted_highlight", "receptor", "receptor_desc",
    "integrin", "other", "other_desc", "pdb_id", "pdb_structure", "stoichiometry",
    "comments_complex", "reactome_reaction", "reactome_complex", "complexPortal_complex",
    "rhea_reaction", "curator", "version", "sources",
)
INTERACTION_HEADER = (
    "id_cp_interaction", "partner_a", "partner_b", "protein_name_a", "protein_name_b",
    "annotation_strategy", "source", "is_ppi", "curator", "reactome_complex",
    "reactome_reaction", "reactome_pathway", "complexPortal_complex", "comments", "version",
    "interactors", "classification", "directionality", "modulatory_effect", "sources",
)
FILES = {"genes": "gene_input.csv", "proteins": "protein_input.csv",
         "complexes": "complex_input.csv", "interactions": "interaction_input.csv"}
CURATOR = "cytokg"
# CellPhoneDB keeps every interaction whose strategy is 'curated' or 'user_curated'.
STRATEGY = "user_curated"


def flag(value: bool) -> str:
    """A boolean as CellPhoneDB's input files write it."""
    return "TRUE" if value else "FALSE"


def partner(participant: Participant) -> str:
    """How an interaction names a partner: a protein's accession, or a complex's name."""
    if participant.is_complex:
        return participant.entity.removeprefix("cytokg:")
    return participant.genes[0].uniprot


def tables(pairs: PairSet) -> dict[str, tuple[tuple[str, ...], list[tuple[str, ...]]]]:
    """The four tables, each as its header and sorted rows."""
    version = f"cytokg {pairs.version}".strip()
    genes: dict[str, Gene] = {}
    receptor_genes: set[str] = set()
    decoy_genes: set[str] = set()
    complexes: dict[str, tuple[Participant, str]] = {}
    interactions = []
    for pair in pairs.pairs:
        for side, participant in (("ligand", pair.ligand), ("receptor", pair.receptor)):
            for gene in participant.genes:
                genes[gene.uniprot] = gene
                if side == "receptor":
                    receptor_genes.add(gene.uniprot)
                    if pair.interaction_type == "decoy":
                        decoy_genes.add(gene.uniprot)
            if participant.is_complex:
                complexes[partner(participant)] = (participant, side)
        interactors = "-".join("+".join(sorted(g.symbol for g in p.genes))
                               for p in (pair.ligand, pair.receptor))
        comment = "decoy: the receptor binds the ligand without passing its signal on" \
            if pair.interaction_type == "decoy" else ""
        interactions.append((
            "", partner(pair.ligand), partner(pair.receptor),
            "" if pair.ligand.is_complex else pair.ligand.genes[0].symbol,
            "" if pair.receptor.is_complex else pair.receptor.genes[0].symbol,
            STRATEGY, ";".join(pair.publications + pair.sources), "True", CURATOR, "", "", "",
            "", comment, version, interactors, "", "Ligand-Receptor", "",
            "|".join(pair.sources)))
    gene_rows = sorted((g.symbol, g.uniprot, g.symbol, g.ensembl, "|".join(g.sources))
                       for g in genes.values())
    protein_rows = sorted(protein_row(g, g.uniprot in receptor_genes, g.uniprot in decoy_genes,
                                      version) for g in genes.values())
    complex_rows = sorted(complex_row(p, side, version) for p, side in complexes.values())
    return {
        "genes": (GENE_HEADER, gene_rows),
        "proteins": (PROTEIN_HEADER, protein_rows),
        "complexes": (COMPLEX_HEADER, complex_rows),
        "interactions": (INTERACTION_HEADER, sorted(interactions)),
    }


def protein_row(gene: Gene, receptor: bool, decoy: bool, version: str) -> tuple[str, ...]:
    """One protein: its accession, name (the gene symbol) and the flags the graph supports."""
    secreted = gene.secreted and not receptor
    receptor_desc = ("Decoy receptor" if decoy else "Cytokine receptor") if receptor else ""
    return (gene.uniprot, gene.symbol, "FALSE", "FALSE", flag(secreted),
            "Cytokine" if secreted else "", flag(secreted), flag(receptor), receptor_desc,
            "FALSE", "", "FALSE", "FALSE", "", "", "", "", "", version, "|".join(gene.sources))


def complex_row(participant: Participant, side: str, version: str) -> tuple[str, ...]:
    """One complex: its name, its chains' accessions, and whether it is a receptor."""
    accessions = [g.uniprot for g in participant.genes]
    if len(accessions) > MAX_SUBUNITS:
        raise ExportError(f"{participant.entity} has {len(accessions)} chains; CellPhoneDB "
                          f"takes at most {MAX_SUBUNITS}")
    receptor = side == "receptor"
    secreted = not receptor and all(g.secreted for g in participant.genes)
    desc = ("Decoy receptor" if participant.decoy else "Cytokine receptor") if receptor else ""
    return (partner(participant), *accessions, *[""] * (MAX_SUBUNITS - len(accessions)),
            "FALSE", "FALSE", flag(secreted), "Cytokine" if secreted else "", flag(secreted),
            flag(receptor), desc, "FALSE", "FALSE", "", "", "False",
            ";".join(g.symbol for g in participant.genes), participant.label, "", "", "", "",
            CURATOR, version, "|".join(participant.sources))


def render(pairs: PairSet) -> dict[str, bytes]:
    """The four CSV files, by file name."""
    return {FILES[name]: render_table(header, rows, ",")
            for name, (header, rows) in tables(pairs).items()}
