"""The modelling rule of issue 13, checked on the edit file and on the release.

Every axiom that makes the reasoner write per-member or per-instance facts (an `owl:hasValue`
restriction, a property chain, a transitive or symmetric property, a domain or a range) must
carry a one-line justification ("Kept: ...") beside it in `ontology/cytokg.ttl`; and no
class-level (`typically...`) statement may reach a member of its class in the release.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from kg.query import release_converter, rows, run

TBOX = Path(__file__).resolve().parent.parent / "ontology" / "cytokg.ttl"
PUSHING = re.compile(r"owl:hasValue|owl:propertyChainAxiom|owl:TransitiveProperty|"
                     r"owl:SymmetricProperty|rdfs:domain|rdfs:range")
JUSTIFIED = re.compile(r"#.*\bkept\b", re.IGNORECASE)
STRING = re.compile(r'"(?:[^"\\]|\\.)*"')


def blocks(text: str) -> list[str]:
    """Split Turtle text into the blank-line separated blocks a reader sees as one statement."""
    return [b for b in re.split(r"\n\s*\n", text) if b.strip()]


def unjustified(text: str) -> list[str]:
    """Name the first line of each block that pushes facts onto members without a 'kept' note."""
    found = []
    for block in blocks(text):
        code = STRING.sub('""', "\n".join(line.split("#", 1)[0] for line in block.splitlines()))
        if PUSHING.search(code) and not JUSTIFIED.search(block):
            found.append(next(line for line in block.splitlines()
                              if line.strip() and not line.lstrip().startswith("#")))
    return found


def test_every_member_pushing_axiom_has_a_justification() -> None:
    assert unjustified(TBOX.read_text(encoding="utf-8")) == []


@pytest.mark.parametrize("text, found", [
    ("ex:A rdfs:subClassOf [ owl:onProperty ex:p ; owl:hasValue ex:v ] .", 1),
    ("# Kept: true of every A by definition.\nex:A rdfs:subClassOf [ owl:hasValue ex:v ] .", 0),
    ("ex:p a owl:TransitiveProperty .\n\n# kept: nests\nex:q a owl:TransitiveProperty .", 1),
    ("ex:p rdfs:comment \"no owl:hasValue here\" .  # a comment naming rdfs:range", 0),
])
def test_the_justification_check_finds_what_it_should(text: str, found: int) -> None:
    assert len(unjustified(text)) == found


def test_no_class_level_statement_reaches_a_member_without_a_source(real_release: Path) -> None:
    query = """
    PREFIX cytokg: <https://w3id.org/cytokg/>
    PREFIX owl: <http://www.w3.org/2002/07/owl#>
    SELECT ?member ?property ?value WHERE {
      ?class ?typical ?value . ?typical cytokg:classLevelFormOf ?property .
      ?member a ?class ; ?property ?value .
      FILTER NOT EXISTS { ?axiom owl:annotatedSource ?member ; owl:annotatedProperty ?property ;
                                 owl:annotatedTarget ?value }
    }"""
    _, found = rows(run(real_release, query), release_converter(real_release))
    assert found == []
