"""Bad sources get clear errors naming the file, line, focus node or IRI at fault."""

from __future__ import annotations

import pytest

from kg.build import Project, load_and_validate
from kg.errors import BuildError


def validate(project: Project) -> None:
    """Run the load and validate stages on a project."""
    load_and_validate(project, progress=lambda _: None)


def error_of(project: Project) -> str:
    """Return the message of the BuildError that validating the project raises."""
    with pytest.raises(BuildError) as error:
        validate(project)
    return str(error.value)


def append(path, text: str) -> None:
    """Append text to a source file."""
    path.write_text(path.read_text() + text)


def test_fixture_is_valid(mini: Project) -> None:
    validate(mini)


def test_turtle_syntax_error_names_file_and_line(mini: Project) -> None:
    tbox = mini.ontology / "cytokg.ttl"
    line_count = len(tbox.read_text().splitlines())
    append(tbox, "cytokg:Broken a owl:Class ;\n    rdfs:label \"broken\"@en ) .\n")
    message = error_of(mini)
    assert message.startswith(f"{tbox}:{line_count + 2}: Turtle syntax error")


def test_shacl_violation_lists_focus_node_path_and_message(mini: Project) -> None:
    table = mini.ontology / "data" / "cytokines.tsv"
    table.write_text(table.read_text().replace("HGNC:6018", "6018"))
    message = error_of(mini)
    assert ("SHACL: focus cytokg:IL6, path cytokg:hgncId, value 6018: an HGNC ID looks like "
            "HGNC:6018") in message


def test_shacl_violation_on_the_class_of_an_object(mini: Project) -> None:
    append(mini.ontology / "data" / "statements.tsv", "IL6\tcytokg:producedBy\tIL2\tArticle\n")
    message = error_of(mini)
    assert "SHACL: focus cytokg:IL6, path cytokg:producedBy, value cytokg:IL2" in message


def test_used_but_undeclared_term_is_named(mini: Project) -> None:
    append(mini.ontology / "data" / "statements.tsv",
           "IL6\tcytokg:producedBy\tMastCell\tArticle\n")
    message = error_of(mini)
    assert "undeclared-term: term=cytokg:MastCell" in message


def test_term_without_label_is_named(mini: Project) -> None:
    append(mini.ontology / "cytokg.ttl",
           "\ncytokg:Orphan a owl:Class ; skos:definition \"A class with no label.\"@en .\n")
    assert "missing-label: term=cytokg:Orphan" in error_of(mini)


def test_term_without_definition_is_named(mini: Project) -> None:
    append(mini.ontology / "cytokg.ttl", "\ncytokg:Bare a owl:Class ; rdfs:label \"bare\"@en .\n")
    assert "missing-definition: term=cytokg:Bare" in error_of(mini)


def test_table_row_error_names_file_and_line(mini: Project) -> None:
    table = mini.ontology / "data" / "statements.tsv"
    append(table, "IL6\tcytokg:noSuchProperty\tMacrophage\tArticle\n")
    message = error_of(mini)
    assert f"{table}:4: property cytokg:noSuchProperty is not declared in the TBox" in message


def test_fact_without_source_is_refused(mini: Project) -> None:
    table = mini.ontology / "data" / "statements.tsv"
    append(table, "IL6\tcytokg:producedBy\tTLymphocyte\t\n")
    assert f"{table}:4: empty 'source'" in error_of(mini)


def test_unknown_prefix_is_refused(mini: Project) -> None:
    table = mini.ontology / "data" / "cells.tsv"
    table.write_text(table.read_text().replace("CL:0000235", "XX:0000235"))
    assert "'XX:0000235' has an unknown prefix" in error_of(mini)


def test_duplicate_id_names_both_rows(mini: Project) -> None:
    table = mini.ontology / "data" / "cells.tsv"
    append(table, "Macrophage\tCellType\tmacrophage\t\tAgain.\tArticle\t\t\n")
    message = error_of(mini)
    assert f"id 'Macrophage' already defined at {table}:4" in message


def test_duplicate_exact_match_is_refused(mini: Project) -> None:
    table = mini.ontology / "data" / "cells.tsv"
    table.write_text(table.read_text().replace("CL:0000235", "CL:0000084"))
    assert "duplicate-exact-match: entity=cytokg:Macrophage, other=cytokg:TLymphocyte" in (
        error_of(mini))


def test_ill_formed_identifier_is_refused(mini: Project) -> None:
    table = mini.ontology / "data" / "cytokines.tsv"
    table.write_text(table.read_text().replace("HGNC:6001", "HGNC:06001"))
    message = error_of(mini)
    assert "identifier-syntax: entity=cytokg:IL2, property=cytokg:hgncId, value=HGNC:06001" in (
        message)


PUBLICATION_TBOX = """
cytokg:Publication a owl:Class ; rdfs:subClassOf cytokg:Source ;
    rdfs:label "publication"@en ; skos:definition "A paper the tests cite."@en .
cytokg:pmid a owl:DatatypeProperty ; rdfs:label "PubMed ID"@en ;
    skos:definition "A PubMed identifier."@en ; rdfs:range xsd:string .
cytokg:doi a owl:DatatypeProperty ; rdfs:label "DOI"@en ;
    skos:definition "A digital object identifier."@en ; rdfs:range xsd:string .
"""


def with_publications(project: Project, rows: str) -> None:
    """Declare publications and their identifier columns in the fixture, then add source rows."""
    append(project.ontology / "cytokg.ttl", PUBLICATION_TBOX)
    table = project.ontology / "data" / "sources.tsv"
    header, *body = table.read_text().splitlines()
    table.write_text("\n".join([header + "\tcytokg:pmid\tcytokg:doi",
                                *(line + "\t\t" for line in body)]) + "\n" + rows)


def test_publication_without_pmid_or_doi_is_named(mini: Project) -> None:
    with_publications(mini, "PubBare\tPublication\tbare paper\tA paper with no identifier.\t\t\t\n")
    assert "publication-without-identifier: publication=cytokg:PubBare" in error_of(mini)


def test_publication_with_pmid_or_doi_passes(mini: Project) -> None:
    with_publications(mini, "PubA\tPublication\tpaper A\tA paper with a PMID.\t\t8462096\t\n"
                      "PubB\tPublication\tpaper B\tA paper with a DOI.\t\t\t10.1038/nri2586\n")
    validate(mini)
