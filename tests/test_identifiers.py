"""Identifiers in the release: well-formed, unique across entities, one of each kind per entity.

The build's quality checks enforce the same rules; these tests ask the released graph directly,
through the query API, so a release that slipped past the checks could not pass.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from kg.query import release_converter, rows, run

PREFIXES = """PREFIX cytokg: <https://w3id.org/cytokg/>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
"""
PATTERNS = {
    "hgncId": r"^HGNC:[1-9][0-9]*$",
    "ncbiGeneId": r"^[1-9][0-9]*$",
    "uniprotId": r"^([OPQ][0-9][A-Z0-9]{3}[0-9]|[A-NR-Z][0-9]([A-Z][A-Z0-9]{2}[0-9]){1,2})$",
}


def answer(release: Path, query: str) -> list[tuple[str, ...]]:
    """Rows of a query over the full graph, rendered as CURIEs."""
    return rows(run(release, PREFIXES + query), release_converter(release))[1]


@pytest.mark.parametrize(("prop", "pattern"), sorted(PATTERNS.items()))
def test_every_identifier_is_well_formed(real_release: Path, prop: str, pattern: str) -> None:
    bad = answer(real_release, f"""SELECT ?e ?v WHERE {{ ?e cytokg:{prop} ?v
        FILTER(!REGEX(STR(?v), "{pattern}")) }}""")
    assert bad == []
    count = answer(real_release, f"SELECT (COUNT(*) AS ?n) WHERE {{ ?e cytokg:{prop} ?v }}")
    assert int(count[0][0]) > 100


@pytest.mark.parametrize("prop", sorted(PATTERNS))
def test_no_identifier_names_two_entities(real_release: Path, prop: str) -> None:
    assert answer(real_release, f"""SELECT ?v WHERE {{ ?a cytokg:{prop} ?v . ?b cytokg:{prop} ?v
        FILTER(?a != ?b) }}""") == []


@pytest.mark.parametrize("prop", sorted(PATTERNS))
def test_no_entity_has_two_identifiers_of_a_kind(real_release: Path, prop: str) -> None:
    assert answer(real_release, f"""SELECT ?e WHERE {{ ?e cytokg:{prop} ?v , ?w
        FILTER(?v != ?w) }}""") == []


def test_gene_products_carry_all_three_identifiers(real_release: Path) -> None:
    partial = answer(real_release, """SELECT ?e WHERE {
        { ?e cytokg:hgncId ?h } UNION { ?e cytokg:ncbiGeneId ?n } UNION { ?e cytokg:uniprotId ?u }
        FILTER NOT EXISTS { ?e cytokg:hgncId ?h2 ; cytokg:ncbiGeneId ?n2 ; cytokg:uniprotId ?u2 }
    }""")
    assert partial == []


def test_uniprot_identifier_and_exact_match_agree(real_release: Path) -> None:
    assert answer(real_release, """SELECT ?e ?id WHERE { ?e cytokg:uniprotId ?id
        FILTER NOT EXISTS { ?e skos:exactMatch ?m
            FILTER(STR(?m) = CONCAT("http://purl.uniprot.org/uniprot/", ?id)) } }""") == []


def test_no_two_entities_claim_one_external_term(real_release: Path) -> None:
    assert answer(real_release, """SELECT ?t WHERE { ?a skos:exactMatch ?t . ?b skos:exactMatch ?t
        FILTER(?a != ?b && STRSTARTS(STR(?a), "https://w3id.org/cytokg/")
               && STRSTARTS(STR(?b), "https://w3id.org/cytokg/")) }""") == []
