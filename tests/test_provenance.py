"""Releases people can cite: one licence everywhere, a citation file, a changelog, and VoID that
gives the release's version and each source's licence and version."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml
from rdflib import Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCTERMS, OWL, RDF, RDFS

from kg.provenance import LICENCE, LICENCE_IRIS, LICENCE_SPDX, NO_LICENCE, NO_VERSION

REPO = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
CYTOKG = Namespace("https://w3id.org/cytokg/")
PAV = Namespace("http://purl.org/pav/")
DATASET = CYTOKG.dataset


def test_pyproject_states_the_licence_the_release_uses() -> None:
    assert PYPROJECT["license"] == LICENCE_SPDX
    assert LICENCE_IRIS[LICENCE_SPDX] == LICENCE


def test_license_file_names_the_licence_and_its_legal_code() -> None:
    text = (REPO / "LICENSE").read_text(encoding="utf-8")
    assert "Creative Commons Attribution 4.0 International" in text
    assert LICENCE in text and LICENCE + "legalcode" in text
    assert "by-sa" not in text.lower()


def test_citation_file_is_cff_1_2_0_for_this_version() -> None:
    citation = yaml.safe_load((REPO / "CITATION.cff").read_text(encoding="utf-8"))
    assert citation["cff-version"] == "1.2.0"
    for key in ("message", "title", "authors"):  # the keys CFF 1.2.0 requires
        assert citation.get(key), key
    assert all(isinstance(a, dict) and (a.get("name") or a.get("family-names"))
               for a in citation["authors"])
    assert citation["version"] == PYPROJECT["version"]
    assert citation["license"] == PYPROJECT["license"]
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", citation["date-released"])
    version_iri = f"https://w3id.org/cytokg/releases/{PYPROJECT['version']}/cytokg.owl"
    assert version_iri in [i["value"] for i in citation["identifiers"]]


def test_changelog_has_an_unreleased_section_and_this_version() -> None:
    text = (REPO / "CHANGELOG.md").read_text(encoding="utf-8")
    headings = re.findall(r"^## \[([^\]]+)\](?: - (\d{4}-\d{2}-\d{2}))?$", text, re.M)
    assert headings[0] == ("Unreleased", "")
    released = dict(headings[1:])
    citation = yaml.safe_load((REPO / "CITATION.cff").read_text(encoding="utf-8"))
    assert released[PYPROJECT["version"]] == citation["date-released"]


def test_the_release_states_one_licence_everywhere(real_release: Path) -> None:
    full = Graph().parse(real_release / "cytokg.nt", format="nt")
    void = Graph().parse(real_release / "void.ttl", format="turtle")
    ontology = CYTOKG["cytokg.owl"]
    assert set(full.objects(ontology, DCTERMS.license)) == {URIRef(LICENCE)}
    assert set(void.objects(DATASET, DCTERMS.license)) == {URIRef(LICENCE)}
    sssom = (real_release / "cytokg.sssom.tsv").read_text(encoding="utf-8")
    assert f'#license: "{LICENCE}"' in sssom.splitlines()
    for name in ("cytokg.ttl", "void.ttl", "cytokg.sssom.tsv", "cytokg.jsonld"):
        assert "licenses/by-sa" not in (real_release / name).read_text(encoding="utf-8")


def test_void_gives_the_release_version_and_every_source_licence_and_version(
        real_release: Path) -> None:
    full = Graph().parse(real_release / "cytokg.nt", format="nt")
    void = Graph().parse(real_release / "void.ttl", format="turtle")
    ontology = CYTOKG["cytokg.owl"]
    assert set(void.objects(DATASET, PAV.version)) == set(
        Literal(str(v)) for v in full.objects(ontology, OWL.versionInfo))
    assert set(void.objects(DATASET, DCTERMS.hasVersion)) == set(
        full.objects(ontology, OWL.versionIRI))
    # The records the tables declare as DatabaseRecords (not the per-pair records of HCOP,
    # which are parts of HCOPRecord and DatabaseRecords only by inference).
    asserted = Graph().parse(real_release / "cytokg-asserted.nt", format="nt")
    records = set(asserted.subjects(RDF.type, CYTOKG.DatabaseRecord))
    assert len(records) >= 20
    for record in records:
        assert (DATASET, DCTERMS.source, record) in void
        comments = {str(c) for c in void.objects(record, RDFS.comment)}
        licences = set(void.objects(record, DCTERMS.license))
        assert bool(licences) != (NO_LICENCE in comments), record
        versions = set(void.objects(record, PAV.version))
        assert bool(versions) != (NO_VERSION in comments), record
        # The VoID says exactly what the source tables say.
        assert {str(v) for v in versions} == {str(v) for v in
                                              full.objects(record, CYTOKG.sourceVersion)}
        assert len(licences) == len(set(full.objects(record, CYTOKG.licence)))
    # Licences read from each resource's own statement (see ontology/data/sources-licences.tsv).
    expected = {
        "HGNCRecord": "https://creativecommons.org/publicdomain/zero/1.0/",
        "GORecord": "https://creativecommons.org/licenses/by/4.0/",
        "CLRecord": "https://creativecommons.org/licenses/by/4.0/",
        "MONDORecord": "https://creativecommons.org/licenses/by/4.0/",
        "DrugBankRecord": "https://creativecommons.org/licenses/by-nc/4.0/",
        "KEGGRecord": "https://www.kegg.jp/kegg/legal.html",
    }
    for record, licence in expected.items():
        assert set(void.objects(CYTOKG[record], DCTERMS.license)) == {URIRef(licence)}, record
    assert (CYTOKG.CellPhoneDBRecord, PAV.version, Literal("v5.0.0 (2023)")) in void
    assert NO_LICENCE in {str(c) for c in void.objects(CYTOKG.UniProtRecord, RDFS.comment)}
