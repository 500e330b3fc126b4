"""The SSSOM table of a release parses and validates with the `sssom` library."""

from __future__ import annotations

from pathlib import Path

import pytest
from sssom import validators
from sssom.constants import SchemaValidationType
from sssom.parsers import parse_sssom_table

from kg.build import Project

CHECKS = [SchemaValidationType.JsonSchema, SchemaValidationType.PrefixMapCompleteness,
          SchemaValidationType.StrictCurieFormat]


def test_mini_sssom_rows_come_from_the_mapping_triples(mini_built: Project) -> None:
    msdf = parse_sssom_table(mini_built.out / "cytokg.sssom.tsv")
    rows = sorted(zip(msdf.df["subject_id"], msdf.df["predicate_id"], msdf.df["object_id"],
                      strict=True))
    assert rows == [
        ("cytokg:IL2", "skos:exactMatch", "UniProtKB:P60568"),
        ("cytokg:IL6", "skos:exactMatch", "UniProtKB:P05231"),
        ("cytokg:Lymphocyte", "skos:exactMatch", "CL:0000542"),
        ("cytokg:Macrophage", "skos:exactMatch", "CL:0000235"),
        ("cytokg:TLymphocyte", "skos:exactMatch", "CL:0000084"),
    ]
    validators.validate(msdf, CHECKS, fail_on_error=True)


def test_release_sssom_table_is_valid(real_release: Path) -> None:
    msdf = parse_sssom_table(real_release / "cytokg.sssom.tsv")
    assert msdf.metadata["mapping_set_id"] == "https://w3id.org/cytokg/cytokg.sssom.tsv"
    assert len(msdf.df) > 50
    validators.validate(msdf, CHECKS, fail_on_error=True)


def test_validation_catches_an_undeclared_prefix(mini_built: Project, tmp_path: Path) -> None:
    broken = tmp_path / "broken.sssom.tsv"
    text = (mini_built.out / "cytokg.sssom.tsv").read_text()
    broken.write_text(text.replace("CL:0000235", "NOPE:0000235"))
    msdf = parse_sssom_table(broken)
    with pytest.raises(validators.ValidationError, match="1 validation error"):
        validators.validate(msdf, CHECKS, fail_on_error=True)


def test_void_lists_the_datasets_we_link_to_and_draw_from(real_release: Path) -> None:
    from rdflib import Graph, URIRef
    from rdflib.namespace import DCTERMS, RDF

    from kg.vocab import VOID

    void = Graph().parse(real_release / "void.ttl", format="turtle")
    dataset = URIRef("https://w3id.org/cytokg/dataset")
    targets = {str(t).rsplit("/", 1)[1] for t in void.objects(None, VOID.objectsTarget)}
    assert {"uniprotkb", "cl", "mondo", "go", "drugbank"} <= targets
    sources = {str(s).rsplit("/", 1)[1] for s in void.objects(dataset, DCTERMS.source)}
    assert {"HGNCRecord", "UniProtRecord", "NCBIGeneRecord", "KEGGRecord", "CellChatDBRecord",
            "CellPhoneDBRecord", "OmniPathRecord"} <= sources
    assert all((URIRef(f"https://w3id.org/cytokg/{s}"), RDF.type, VOID.Dataset) in void
               for s in sources)
