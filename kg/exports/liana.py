"""The LIANA resource form: `ligand`/`receptor` columns, complex subunits joined by `_`.

LIANA's own resources (`liana.resource.select_resource`) write a complex as its gene symbols
sorted and joined by its `complex_sep`, "_" (IL6R_IL6ST); the frame passes to any LIANA method
as `resource=`. Extra columns name our terms, the interaction type and the sources.
"""

from __future__ import annotations

from collections import defaultdict

from kg.exports.files import render_table
from kg.exports.pairs import PairSet, Participant

COMPLEX_SEP = "_"
HEADER = ("ligand", "receptor", "ligand_entity", "receptor_entity", "interaction_type",
          "sources", "publications")


def liana_name(participant: Participant) -> str:
    """A participant as LIANA names it: one symbol, or the sorted symbols of a complex."""
    return COMPLEX_SEP.join(sorted(g.symbol for g in participant.genes))


def rows(pairs: PairSet) -> list[tuple[str, ...]]:
    """One row per ligand and receptor as LIANA names them, merging terms that name alike."""
    merged: dict[tuple[str, str], dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for pair in pairs.pairs:
        cells = merged[(liana_name(pair.ligand), liana_name(pair.receptor))]
        cells["ligand_entity"].add(pair.ligand.entity)
        cells["receptor_entity"].add(pair.receptor.entity)
        cells["interaction_type"].add(pair.interaction_type)
        cells["sources"].update(pair.sources)
        cells["publications"].update(pair.publications)
    return [(ligand, receptor, *("|".join(sorted(cells[c])) for c in HEADER[2:]))
            for (ligand, receptor), cells in sorted(merged.items())]


def render(pairs: PairSet) -> bytes:
    """The LIANA resource as CSV (read it with `pandas.read_csv`)."""
    return render_table(HEADER, rows(pairs), ",")
