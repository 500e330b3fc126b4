"""`cytokg stats` and the overview: counts per class and family, and the family-pair grid."""

from __future__ import annotations

from xml.etree import ElementTree

from support import run_cli

from kg.build import Project
from kg.stats import overview_svg, store_from_ntriples, summarise

# A tiny graph, already closed: two gp130 cytokines of one family, one receptor chain family.
GRAPH = """
@prefix c: <https://w3id.org/cytokg/> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix skos: <http://www.w3.org/2004/02/skos/core#> .
c:IL6 a c:Cytokine ; c:memberOfFamily c:IL6Family ; c:usesReceptorChain c:IL6ST , c:IL6R ;
  skos:exactMatch <http://purl.uniprot.org/uniprot/P05231> .
c:LIF a c:Cytokine ; c:memberOfFamily c:IL6Family ; c:usesReceptorChain c:IL6ST .
c:IL6ST a c:CytokineReceptor ; c:memberOfFamily c:Type1Receptors ;
  skos:exactMatch <http://purl.uniprot.org/uniprot/P40189> .
c:IL6R a c:CytokineReceptor ; c:memberOfFamily c:Type1Receptors .
c:IL6Family a c:ProteinFamily ; rdfs:label "IL-6 family" .
c:Type1Receptors a c:ProteinFamily ; rdfs:label "type 1 receptors" .
c:Cytokine rdfs:label "cytokine" .
c:CytokineReceptor rdfs:label "cytokine receptor" .
"""


def summary():
    """Summarise the tiny graph."""
    from rdflib import Graph

    data = Graph().parse(data=GRAPH, format="turtle").serialize(format="nt", encoding="utf-8")
    return summarise(store_from_ntriples(data))


def test_family_counts_with_mapped_and_unmapped() -> None:
    result = summary()
    assert [(c.label, c.members, c.mapped, c.unmapped) for c in result.cytokine_families] == [
        ("IL-6 family", 2, 1, 1)]
    assert [(c.label, c.members, c.mapped, c.unmapped) for c in result.receptor_families] == [
        ("type 1 receptors", 2, 1, 1)]


def test_matrix_counts_distinct_ligands_per_family_pair() -> None:
    assert summary().matrix == {("IL-6 family", "type 1 receptors"): 2}


def test_overview_is_svg_with_escaped_labels() -> None:
    result = summary()
    result.matrix[("<b>odd</b>", "type 1 receptors")] = 1
    root = ElementTree.fromstring(overview_svg(result))
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    texts = [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")]
    assert "<b>odd</b>" in texts and "IL-6 family" in texts and "2" in texts


def test_stats_command_prints_the_tables(mini: Project) -> None:
    result = run_cli("--root", str(mini.root), "stats")
    assert result.returncode == 0, result.stderr
    rows = [line.split() for line in result.stdout.splitlines()]
    assert ["cell", "type", "3", "3", "0"] in rows
    assert ["cytokine", "2", "2", "0"] in rows
    assert (mini.out / "overview.svg").is_file()


COVERAGE_GRAPH = """
@prefix c: <https://w3id.org/cytokg/> .
c:IL6 a c:Cytokine ; c:producedBy c:Monocyte ; c:hgncId "HGNC:6018" ; c:symbol "IL6" .
c:IL99 a c:Cytokine ; c:hgncId "HGNC:0" .
c:Monocyte a c:CellType .
"""


def test_coverage_counts_members_with_and_without_and_names_the_rest() -> None:
    from rdflib import Graph

    from kg.coverage import coverage, coverage_report

    data = Graph().parse(data=COVERAGE_GRAPH, format="turtle").serialize(format="nt",
                                                                          encoding="utf-8")
    figures = {f.label: f for f in coverage(store_from_ntriples(data))}
    producers = figures["core cytokines with a producing cell type"]
    assert (producers.covered, producers.total, producers.missing) == (1, 2, ("IL99",))
    symbols = figures["gene entities with their symbol as a literal"]
    assert (symbols.covered, symbols.total, symbols.missing) == (1, 2, ("IL99",))
    assert "IL99" in coverage_report(list(figures.values()))
