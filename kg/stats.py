"""A summary a person reads at a glance: counts per family, mapped vs unmapped, and an overview.

Everything is computed by SPARQL over the full graph (asserted and inferred), so family
membership follows the reasoned `memberOfFamily` closure rather than hand-kept lists.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import ceil
from xml.sax.saxutils import escape

import pyoxigraph

PREFIXES = """PREFIX cytokg: <https://w3id.org/cytokg/>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
"""
FAMILY_COUNTS = PREFIXES + """
SELECT ?family ?label (COUNT(DISTINCT ?member) AS ?members) (COUNT(DISTINCT ?mapped) AS ?mapped)
WHERE {
  ?member a cytokg:%s ; cytokg:memberOfFamily ?family .
  ?family rdfs:label ?label .
  OPTIONAL { ?member skos:exactMatch ?target . BIND(?member AS ?mapped) }
}
GROUP BY ?family ?label
ORDER BY DESC(?members) ?label
"""
CLASS_COUNTS = PREFIXES + """
SELECT ?class ?label (COUNT(DISTINCT ?member) AS ?members) (COUNT(DISTINCT ?mapped) AS ?mapped)
WHERE {
  VALUES ?class { cytokg:Cytokine cytokg:CytokineReceptor cytokg:CellType cytokg:Disease
                  cytokg:BiologicalProcess cytokg:Drug cytokg:AnatomicalEntity }
  ?member a ?class .
  ?class rdfs:label ?label .
  OPTIONAL { ?member skos:exactMatch ?target . BIND(?member AS ?mapped) }
}
GROUP BY ?class ?label
ORDER BY ?label
"""
# Ligands of each top-level cytokine family against the top-level families of the receptor
# chains they use (or of the receptors they bind, for single-chain receptors).
PAIR_MATRIX = PREFIXES + """
SELECT ?ligandFamily ?receptorFamily (COUNT(DISTINCT ?ligand) AS ?ligands) WHERE {
  ?ligand a cytokg:Cytokine ; cytokg:memberOfFamily ?ligandFamily .
  FILTER NOT EXISTS { ?ligandFamily cytokg:subfamilyOf ?broader }
  { ?ligand cytokg:usesReceptorChain ?receptor } UNION { ?ligand cytokg:bindsReceptor ?receptor }
  ?receptor cytokg:memberOfFamily ?receptorFamily .
  FILTER NOT EXISTS { ?receptorFamily cytokg:subfamilyOf ?broaderR }
}
GROUP BY ?ligandFamily ?receptorFamily
"""
LABELS = PREFIXES + "SELECT ?s ?label WHERE { ?s a cytokg:ProteinFamily ; rdfs:label ?label }"


@dataclass(frozen=True)
class Count:
    """Members of a family or class, and how many of them map to an external resource."""

    label: str
    members: int
    mapped: int

    @property
    def unmapped(self) -> int:
        """Members without an exact match."""
        return self.members - self.mapped


@dataclass
class Summary:
    """The figures of `cytokg stats` and of the overview."""

    classes: list[Count]
    cytokine_families: list[Count]
    receptor_families: list[Count]
    matrix: dict[tuple[str, str], int]


def store_from_ntriples(data: bytes) -> pyoxigraph.Store:
    """Load N-Triples into an in-memory store for the summary queries."""
    store = pyoxigraph.Store()
    store.bulk_load(data, format=pyoxigraph.RdfFormat.N_TRIPLES)
    return store


def select(store: pyoxigraph.Store, query: str) -> list[dict[str, str]]:
    """Run a SELECT and return each solution as a dict of plain values."""
    result = store.query(query)
    names = [v.value for v in result.variables]
    return [{n: t.value for n, t in zip(names, row, strict=True) if t is not None}
            for row in result]


def counts(store: pyoxigraph.Store, query: str) -> list[Count]:
    """Run a counting query into Count rows."""
    return [Count(r["label"], int(r["members"]), int(r["mapped"])) for r in select(store, query)]


def summarise(store: pyoxigraph.Store) -> Summary:
    """Compute every figure of the summary from the full graph."""
    labels = {r["s"]: r["label"] for r in select(store, LABELS)}
    matrix = {(labels.get(r["ligandFamily"], r["ligandFamily"]),
               labels.get(r["receptorFamily"], r["receptorFamily"])): int(r["ligands"])
              for r in select(store, PAIR_MATRIX)}
    return Summary(classes=counts(store, CLASS_COUNTS),
                   cytokine_families=counts(store, FAMILY_COUNTS % "Cytokine"),
                   receptor_families=counts(store, FAMILY_COUNTS % "CytokineReceptor"),
                   matrix=matrix)


def table(title: str, rows: list[Count]) -> str:
    """Render counts as an aligned text table."""
    width = max([len(title), *(len(r.label) for r in rows)])
    lines = [f"{title:<{width}}  members  mapped  unmapped",
             f"{'-' * width}  -------  ------  --------"]
    lines += [f"{r.label:<{width}}  {r.members:>7}  {r.mapped:>6}  {r.unmapped:>8}" for r in rows]
    return "\n".join(lines)


def text_report(summary: Summary) -> str:
    """The report `cytokg stats` prints."""
    return "\n\n".join([table("class", summary.classes),
                        table("cytokine family", summary.cytokine_families),
                        table("receptor family", summary.receptor_families)]) + "\n"


def overview_svg(summary: Summary) -> bytes:
    """Draw ligand families against receptor families as a shaded grid of ligand counts."""
    rows = sorted({lf for lf, _ in summary.matrix})
    cols = sorted({rf for _, rf in summary.matrix})
    # Room for the labels, at about 7 px a character of 12 px type: the column labels are turned
    # by 60 degrees, so they rise 0.87 and reach right 0.5 of their length; the title sits above.
    char, cell = 7, 34
    longest_col = max((len(c) for c in cols), default=0)
    left = max(260, char * max((len(r) for r in rows), default=0) + 20)
    top = 40 + ceil(0.87 * char * longest_col) + 8
    right = ceil(0.5 * char * longest_col) + cell
    width, height = left + cell * len(cols) + right, top + cell * len(rows) + 40
    peak = max(summary.matrix.values(), default=1)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'font-family="sans-serif" font-size="12">',
             '<title>Cytokine families against the receptor families they signal through'
             '</title>',
             '<text x="10" y="20" font-size="15">Ligands of each cytokine family (rows) by '
             'receptor family (columns)</text>']
    for j, col in enumerate(cols):
        x = left + j * cell + cell // 2
        parts.append(f'<text transform="translate({x},{top - 8}) rotate(-60)">'
                     f'{escape(col)}</text>')
    for i, row in enumerate(rows):
        y = top + i * cell
        parts.append(f'<text x="{left - 8}" y="{y + cell // 2 + 4}" text-anchor="end">'
                     f'{escape(row)}</text>')
        for j, col in enumerate(cols):
            n = summary.matrix.get((row, col), 0)
            shade = 255 - int(200 * n / peak) if n else 248
            x = left + j * cell
            parts.append(f'<rect x="{x}" y="{y}" width="{cell - 2}" height="{cell - 2}" '
                         f'fill="rgb({shade},{shade},255)"><title>{escape(row)} / '
                         f'{escape(col)}: {n}</title></rect>')
            if n:
                ink = "white" if shade < 130 else "black"
                parts.append(f'<text x="{x + cell // 2 - 1}" y="{y + cell // 2 + 4}" '
                             f'text-anchor="middle" fill="{ink}">{n}</text>')
    parts.append("</svg>")
    return ("\n".join(parts) + "\n").encode("utf-8")
