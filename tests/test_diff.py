"""`cytokg diff OLD NEW` on two builds of the fixture project, the second one edited."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from support import FIXTURE, copy_project, run_cli

from kg.build import Project, build

# The fixture's TBox has no receptors; both builds get the same declarations, so that only the
# edits below differ between them.
RECEPTOR_TBOX = """
cytokg:CytokineReceptor a owl:Class ; rdfs:label "cytokine receptor"@en ;
    skos:definition "A receptor chain that binds a cytokine."@en .
cytokg:bindsReceptor a owl:ObjectProperty ; rdfs:label "binds receptor"@en ;
    skos:definition "Relates a cytokine to a receptor it binds."@en .
"""
RECEPTORS = ("id\ttype\tlabel\tdefinition\tsource\n"
             "IL2RA\tCytokineReceptor\tIL-2 receptor alpha chain\tA chain of the IL-2 receptor.\t"
             "Article\n")


def fixture_release(tmp_path: Path, name: str, edit=None) -> Project:
    """Copy the fixture project, add receptors, apply an edit, build it and return it."""
    project = copy_project(FIXTURE / "ontology", tmp_path / name)
    with (project.ontology / "cytokg.ttl").open("a", encoding="utf-8") as tbox:
        tbox.write(RECEPTOR_TBOX)
    (project.ontology / "data" / "receptors.tsv").write_text(RECEPTORS, encoding="utf-8")
    if edit is not None:
        edit(project.ontology / "data")
    build(project, progress=lambda _: None)
    return project


def edit_second_release(data: Path) -> None:
    """Relabel IL6, swap the HGNC IDs of IL2 and IL6, and add the pair IL2 -> IL2RA."""
    table = data / "cytokines.tsv"
    text = table.read_text(encoding="utf-8")
    assert "\tinterleukin-6\t" in text and "HGNC:6001" in text and "HGNC:6018" in text
    text = (text.replace("\tinterleukin-6\t", "\tinterleukin 6\t")
            .replace("HGNC:6001", "HGNC:X").replace("HGNC:6018", "HGNC:6001")
            .replace("HGNC:X", "HGNC:6018"))
    table.write_text(text, encoding="utf-8")
    (data / "pairs.tsv").write_text("subject\tproperty\tobject\tsource\n"
                                    "IL2\tcytokg:bindsReceptor\tIL2RA\tArticle\n",
                                    encoding="utf-8")


@pytest.fixture(scope="module")
def releases(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The fixture built twice: as it is, and after the edits of `edit_second_release`."""
    root = tmp_path_factory.mktemp("diff")
    old = fixture_release(root, "old")
    new = fixture_release(root, "new", edit_second_release)
    return old.out, new.out


EXPECTED_ROWS = [
    {"kind": "term", "change": "relabelled", "subject": "cytokg:IL6", "property": "rdfs:label",
     "old": "interleukin-6", "new": "interleukin 6"},
    {"kind": "pair", "change": "added", "subject": "cytokg:IL2",
     "property": "cytokg:bindsReceptor", "old": "", "new": "cytokg:IL2RA"},
    {"kind": "identifier", "change": "changed", "subject": "cytokg:IL2",
     "property": "cytokg:hgncId", "old": "HGNC:6001", "new": "HGNC:6018"},
    {"kind": "identifier", "change": "changed", "subject": "cytokg:IL6",
     "property": "cytokg:hgncId", "old": "HGNC:6018", "new": "HGNC:6001"},
]


def test_diff_prints_a_summary_and_writes_the_same_changes_as_tsv(
        releases: tuple[Path, Path], tmp_path: Path) -> None:
    old, new = releases
    target = tmp_path / "changes.tsv"
    result = run_cli("diff", str(old), str(new), "--tsv", str(target))
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(target.read_text(encoding="utf-8")), delimiter="\t"))
    assert rows == EXPECTED_ROWS
    lines = result.stdout.splitlines()
    assert lines[0] == f"cytokg diff: 0.1.0 ({old}) -> 0.1.0 ({new})"
    assert "terms: 0 added, 0 removed, 1 relabelled" in lines
    assert '  ~ cytokg:IL6  "interleukin-6" -> "interleukin 6"' in lines
    assert "ligand-receptor pairs (bindsReceptor): 1 added, 0 removed" in lines
    assert "  + cytokg:IL2 -> cytokg:IL2RA" in lines
    assert "identifiers (HGNC, NCBI Gene, UniProt, exact matches): 2 changed" in lines
    assert "  ~ cytokg:IL2 cytokg:hgncId: HGNC:6001 -> HGNC:6018" in lines


def test_diff_the_other_way_round_reverses_every_change(releases: tuple[Path, Path],
                                                        tmp_path: Path) -> None:
    old, new = releases
    target = tmp_path / "back.tsv"
    result = run_cli("diff", str(new / "manifest.json"), str(old / "manifest.json"),
                     "--tsv", str(target))
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(target.read_text(encoding="utf-8")), delimiter="\t"))
    assert [(r["kind"], r["change"], r["subject"], r["old"], r["new"]) for r in rows] == [
        ("term", "relabelled", "cytokg:IL6", "interleukin 6", "interleukin-6"),
        ("pair", "removed", "cytokg:IL2", "cytokg:IL2RA", ""),
        ("identifier", "changed", "cytokg:IL2", "HGNC:6018", "HGNC:6001"),
        ("identifier", "changed", "cytokg:IL6", "HGNC:6001", "HGNC:6018"),
    ]


def test_a_release_compared_with_itself_has_no_changes(releases: tuple[Path, Path]) -> None:
    old, _ = releases
    result = run_cli("diff", str(old), str(old))
    assert result.returncode == 0, result.stderr
    assert "terms: 0 added, 0 removed, 0 relabelled" in result.stdout
    assert "ligand-receptor pairs (bindsReceptor): 0 added, 0 removed" in result.stdout
    assert not any(line.startswith("  ") for line in result.stdout.splitlines())


def test_a_directory_that_is_not_a_release_is_a_one_line_error(releases: tuple[Path, Path],
                                                               tmp_path: Path) -> None:
    result = run_cli("diff", str(releases[0]), str(tmp_path))
    assert result.returncode == 1
    assert result.stderr == (f"cytokg: error: {tmp_path}: not a release (no manifest.json); "
                             "give a release directory or its manifest.json\n")
