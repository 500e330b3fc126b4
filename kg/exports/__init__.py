"""Exports of a built release into the formats of other tools, one module per format.

Every exporter reads the built release (never the sources, never rebuilding it) through SPARQL,
sorts its rows so that the same release gives the same bytes, and writes its files atomically.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

#: The `cytokg export --format` values this package adds to the RDF formats.
TABLE_FORMATS = ("pairs", "liana", "cellphonedb", "kgx")
SPECIES = ("human", "mouse")

#: Formats written as several files into the directory given by -o.
DIRECTORY_FORMATS = ("cellphonedb", "kgx")


def render(release: Path, fmt: str, species: str = "human",
           progress: Callable[[str], None] = lambda _: None) -> dict[str, bytes]:
    """Render one export of a built release as {file name: bytes}, without writing anything."""
    if fmt == "kgx":
        from kg.exports import kgx

        return kgx.render(release)
    from kg.exports import cellphonedb, liana, table
    from kg.exports.pairs import read_pairs

    pairs = read_pairs(release, species)
    if pairs.dropped:
        total = len(pairs.pairs) + len(pairs.dropped)
        progress(f"{len(pairs.dropped)} of {total} human pairs have no mouse form: a gene of "
                 "each lacks a one-to-one mouse orthologue")
    if fmt == "pairs":
        return {f"cytokg-pairs-{species}.tsv": table.render(pairs)}
    if fmt == "liana":
        return {f"cytokg-liana-{species}.csv": liana.render(pairs)}
    if fmt == "cellphonedb":
        return cellphonedb.render(pairs)
    raise ValueError(f"unknown export format {fmt!r}; choose from {', '.join(TABLE_FORMATS)}")
