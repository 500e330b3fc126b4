"""The flat ligand-receptor gene-pair table: one row per ligand gene and receptor gene.

Complexes are expanded to their genes, each row naming the complex it came from, so the table
joins directly onto an expression matrix; `interaction_type` says signalling or decoy.
"""

from __future__ import annotations

from kg.exports.files import render_table
from kg.exports.pairs import PairSet

HEADER = (
    "species", "ligand_gene", "ligand_gene_id", "receptor_gene", "receptor_gene_id",
    "ligand_complex", "ligand_complex_label", "receptor_complex", "receptor_complex_label",
    "interaction_type", "human_ligand_gene", "human_receptor_gene", "sources", "publications",
)


def rows(pairs: PairSet) -> list[tuple[str, ...]]:
    """Expand every pair into its gene pairs, sorted."""
    out = set()
    for pair in pairs.pairs:
        ligand_complex = (pair.ligand.entity, pair.ligand.label) if pair.ligand.is_complex \
            else ("", "")
        receptor_complex = (pair.receptor.entity, pair.receptor.label) \
            if pair.receptor.is_complex else ("", "")
        for lg in pair.ligand.genes:
            for rg in pair.receptor.genes:
                out.add((pairs.species, lg.symbol, lg.gene_id, rg.symbol, rg.gene_id,
                         *ligand_complex, *receptor_complex, pair.interaction_type,
                         lg.human_symbol, rg.human_symbol, "|".join(pair.sources),
                         "|".join(pair.publications)))
    return sorted(out)


def render(pairs: PairSet) -> bytes:
    """The gene-pair table as TSV."""
    return render_table(HEADER, rows(pairs), "\t")
