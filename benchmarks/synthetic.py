"""Synthetic projects of our shape at N times our size, for build and serving timings.

``generate(scale, out_dir)`` writes a complete project root (the TBox, shapes and
context copied, every table of ``ontology/data`` repeated ``scale`` times, the quality
checks copied) that ``cytokg --root OUT build`` builds.  Copy 0 is our data as it is;
copy k renames every entity ``ID`` to ``ID_k`` and points every reference inside the
copy at the renamed entities, so each copy is a disjoint graph with our structure
(classes, relations, provenance, reasoning patterns); the few individuals that the
TBox or the shapes name are shared by all copies.  A statement about a shared individual
is written in every copy, except where a property chain or transitive property could walk on
from it (``walking_properties``): "IL6ST engages JAK1_k" in every copy k would let the chains
walk from each copy through IL6ST into every other, which our graph never does.  External
identifiers and identifiers (HGNC, NCBI Gene, UniProt, PubMed) get fresh well-formed values in each
copy, and mappings (``skos:*Match``) and DOIs are kept only in copy 0, since a copy of
them would be a duplicate the quality checks rightly refuse.

    python -m benchmarks.synthetic 100 /tmp/cytokg-x100 && cytokg --root /tmp/cytokg-x100 build
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SEP = " | "
ENTITY_KEYS = ("id", "type", "label", "definition", "source")
#: Columns whose cells are literal text, never references to entities.
TEXT_COLUMNS = frozenset({"label", "alt_labels", "definition"})
#: DOI columns: a copy keeps a well-formed DOI made unique to it (a publication needs one).
DOI = "cytokg:doi"
MAPPING_PREFIX = "skos:"
#: Identifier columns given fresh, well-formed values in copies (the shapes require them).
NUMERIC_IDS = {"cytokg:hgncId": "HGNC:", "cytokg:ncbiGeneId": "", "cytokg:pmid": ""}
UNIPROT = "cytokg:uniprotId"
_RADIX = (26, 36, 36, 10, 26, 36, 36, 10)
_ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


def _numeric_id(prefix: str, value: str, k: int) -> str:
    """A unique, well-formed numeric identifier for copy ``k`` of ``value``."""
    digits = value.removeprefix(prefix)
    return f"{prefix}{k}{int(digits):09d}" if digits.isdigit() else ""


def _mapping(curie: str, k: int) -> str:
    """A mapping target of copy ``k`` that is unique, keeps its prefix and stays well-formed."""
    prefix, sep, local = curie.partition(":")
    if not sep:
        return curie
    if prefix.lower() == "uniprotkb":
        return f"{prefix}:{_uniprot_id(local, k)}"
    found = re.fullmatch(r"(\D*)(\d+)", local)
    if found:  # same shape, never an original value: allocate from a counter
        head, width = found.group(1), len(found.group(2))
        key = (f"{prefix}:{head}", width)
        n = _NEXT.get(key, 10**width // 2 + 1)
        while f"{key[0]}{n:0{width}d}" in _ORIGINAL or n >= 10**width:
            n = n + 1 if n < 10**width else 1
        _NEXT[key] = n + 1
        return f"{key[0]}{n:0{width}d}"
    return f"{prefix}:{local}_{k}"


#: Per (prefix, width), the next synthetic number; and the mapping targets of copy 0.
_NEXT: dict[tuple[str, int], int] = {}
_ORIGINAL: set[str] = set()


def _uniprot_id(value: str, k: int) -> str:
    """A unique accession of the 10-character UniProt form for copy ``k`` of ``value``."""
    n = k * 36**6 + int.from_bytes(value.encode()[:6].ljust(6, b"\0"), "big") % 36**6
    chars = []
    for radix in reversed(_RADIX):
        n, r = divmod(n, radix)
        chars.append(str(r) if radix == 10 else _ALNUM[r])
    return "A0" + "".join(reversed(chars))


def _read(path: Path) -> tuple[list[str], list[list[str]]]:
    """A table's header and rows (comment and blank lines skipped)."""
    lines = [ln for ln in path.read_text(encoding="utf-8").splitlines()
             if ln.strip() and not ln.startswith("#")]
    header = lines[0].split("\t")
    rows = [ln.split("\t") + [""] * (len(header) - len(ln.split("\t"))) for ln in lines[1:]]
    return header, rows


def entity_ids(data: Path) -> set[str]:
    """Every local id defined by an entity table (the names a copy renames)."""
    ids: set[str] = set()
    for path in sorted(data.glob("*.tsv")):
        header, rows = _read(path)
        if "id" in header:
            col = header.index("id")
            ids.update(r[col].strip() for r in rows if r[col].strip())
    return ids


def _rename(cell: str, ids: set[str], suffix: str) -> str:
    """Point the references in a (multi-valued) cell at copy ``suffix``."""
    parts = [p.strip() for p in cell.split(SEP.strip())]
    out = [p + suffix if p in ids else p for p in parts if p]
    return SEP.join(out)


def _copy_row(header: list[str], row: list[str], ids: set[str], k: int) -> list[str]:
    """Row of copy ``k`` (copy 0 is the row unchanged)."""
    if k == 0:
        return row
    suffix = f"_{k}"
    out = []
    for name, cell in zip(header, row, strict=False):
        if name == DOI:
            out.append(SEP.join(f"{v.strip()}.copy{k}" for v in cell.split("|") if v.strip()))
        elif name in NUMERIC_IDS:
            ids_ = [_numeric_id(NUMERIC_IDS[name], v.strip(), k) for v in cell.split("|")]
            out.append(SEP.join(v for v in ids_ if v))
        elif name.startswith(MAPPING_PREFIX):
            out.append(SEP.join(_mapping(v.strip(), k) for v in cell.split("|") if v.strip()))
        elif name == UNIPROT:
            out.append(SEP.join(_uniprot_id(v.strip(), k) for v in cell.split("|") if v.strip()))
        elif name == "label":
            out.append(f"{cell} ({k})")
        elif name in TEXT_COLUMNS or name in ("type", "property"):
            out.append(cell)
        else:
            out.append(_rename(cell, ids, suffix))
    return out


def walking_properties(tbox: Path) -> set[str]:
    """The properties (as ``cytokg:`` CURIEs) that continue a walk: prp-spo2 and prp-trp.

    These are every chain element after the first, every transitive property, and their
    sub-properties: a triple ``T p y`` with such a ``p`` lets a chain that reached ``T`` go on
    to ``y``.
    """
    from rdflib import Graph
    from rdflib.collection import Collection
    from rdflib.namespace import OWL, RDF, RDFS

    graph = Graph().parse(tbox, format="turtle")
    walking = set(graph.subjects(RDF.type, OWL.TransitiveProperty))
    for head in graph.objects(None, OWL.propertyChainAxiom):
        walking.update(list(Collection(graph, head))[1:])
    grown = True
    while grown:
        subs = {s for p in walking for s in graph.subjects(RDFS.subPropertyOf, p)} - walking
        grown = bool(subs)
        walking |= subs
    prefix = "https://w3id.org/cytokg/"
    return {"cytokg:" + str(p).removeprefix(prefix) for p in walking if str(p).startswith(prefix)}


def generate(scale: int, out_dir: Path, source_root: Path = ROOT) -> Path:
    """Write a buildable project root holding ``scale`` copies of our ABox; return it."""
    if scale < 1:
        raise ValueError("scale must be at least 1")
    out_dir = Path(out_dir)
    src = Path(source_root) / "ontology"
    ontology = out_dir / "ontology"
    data = ontology / "data"
    if data.exists():
        shutil.rmtree(data)
    data.mkdir(parents=True)
    for path in src.iterdir():
        if path.is_file():
            shutil.copy2(path, ontology / path.name)
    checks = out_dir / "queries" / "checks"
    if checks.exists():
        shutil.rmtree(checks)
    shutil.copytree(Path(source_root) / "queries" / "checks", checks)
    # Individuals named by the TBox or the shapes (hasValue, oneOf) are shared by all copies.
    named = set()
    for text in (src / "cytokg.ttl", src / "shapes.ttl"):
        if text.is_file():
            named.update(re.findall(r"cytokg:([\w-]+)", text.read_text(encoding="utf-8")))
    ids = entity_ids(src / "data") - named
    walking = walking_properties(src / "cytokg.ttl")
    # Properties the shapes allow once per subject: a shared individual keeps copy 0's value.
    shapes_file = src / "shapes.ttl"
    shapes = shapes_file.read_text(encoding="utf-8") if shapes_file.is_file() else ""
    single = set(re.findall(r"sh:path (cytokg:\w+) ;[^\]]*?sh:maxCount 1\b", shapes))
    _NEXT.clear()
    _ORIGINAL.clear()
    for path in sorted((src / "data").glob("*.tsv")):
        header, rows = _read(path)
        for i, name in enumerate(header):
            if name.startswith(MAPPING_PREFIX):
                _ORIGINAL.update(v.strip() for r in rows for v in r[i].split("|") if v.strip())
    for path in sorted((src / "data").glob("*.tsv")):
        header, rows = _read(path)
        with (data / path.name).open("w", encoding="utf-8", newline="\n") as fh:
            fh.write("\t".join(header) + "\n")
            id_col = header.index("id") if "id" in header else None
            statement = header[:3] == ["subject", "property", "object"]
            for k in range(scale):
                for row in rows:
                    if k and id_col is not None and row[id_col].strip() not in ids:
                        continue  # a shared individual is defined once
                    if (k and statement and row[0].strip() not in ids
                            and row[1].strip() in single and row[2].strip() in ids):
                        continue  # nor a second value where the shapes allow one (its taxon)
                    if k and statement and row[0].strip() not in ids and row[1].strip() in walking:
                        continue  # nor a statement a chain could walk on from, into this copy
                    fh.write("\t".join(_copy_row(header, row, ids, k)) + "\n")
    return out_dir


def main(argv: list[str] | None = None) -> int:
    """``python -m benchmarks.synthetic SCALE OUT``."""
    ap = argparse.ArgumentParser(description="Write a synthetic cytokg project SCALE times ours.")
    ap.add_argument("scale", type=int)
    ap.add_argument("out", type=Path)
    args = ap.parse_args(argv)
    out = generate(args.scale, args.out)
    rows = sum(len(_read(p)[1]) for p in (out / "ontology" / "data").glob("*.tsv"))
    print(f"wrote {out} ({rows} table rows)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
