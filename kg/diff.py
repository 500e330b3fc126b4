"""Compare two releases: terms added, removed and relabelled, pairs added and removed, IDs changed.

A release is read from its directory (the one holding `manifest.json`): the full graph
`cytokg.nt` and the prefixes of its `context.jsonld`, with which every IRI is shown as a CURIE.
The same changes are rendered for people (`summary`) and as TSV (`tsv`), one row per change.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import curies
import pyoxigraph

from kg.layout import MANIFEST
from kg.vocab import BASE, converter, load_context

LABEL = "http://www.w3.org/2000/01/rdf-schema#label"
BINDS = BASE + "bindsReceptor"
IDENTIFIERS = (BASE + "hgncId", BASE + "ncbiGeneId", BASE + "uniprotId",
               "http://www.w3.org/2004/02/skos/core#exactMatch")
TSV_HEADER = ("kind", "change", "subject", "property", "old", "new")
FULL_GRAPH = "cytokg.nt"
CONTEXT = "context.jsonld"


class DiffError(Exception):
    """A release that cannot be read; the message names it and says why."""


@dataclass
class Snapshot:
    """What a diff compares of one release: labels, pairs and identifiers of our terms."""

    version: str
    labels: dict[str, str] = field(default_factory=dict)
    pairs: set[tuple[str, str]] = field(default_factory=set)
    identifiers: dict[tuple[str, str], set[str]] = field(default_factory=lambda: defaultdict(set))


@dataclass(frozen=True)
class Change:
    """One row of a diff: what kind of thing changed, how, and its old and new values."""

    kind: str  # term, pair or identifier
    change: str  # added, removed, relabelled or changed
    subject: str
    property: str
    old: str
    new: str


def release_dir(path: Path) -> Path:
    """The release directory of a path: the directory itself, or the one holding a manifest."""
    directory = path.parent if path.name == MANIFEST or path.is_file() else path
    if not (directory / MANIFEST).is_file():
        raise DiffError(f"{path}: not a release (no {MANIFEST}); give a release directory "
                        "or its manifest.json")
    return directory


def term_text(term: pyoxigraph.NamedNode | pyoxigraph.Literal) -> str:
    """The IRI or the lexical form of a term."""
    return term.value


def snapshot(path: Path) -> Snapshot:
    """Read the labels, pairs and identifiers of our terms from a release."""
    directory = release_dir(path)
    try:
        manifest = json.loads((directory / MANIFEST).read_text(encoding="utf-8"))
        document = (directory / FULL_GRAPH).read_bytes()
    except (OSError, ValueError) as exc:
        raise DiffError(f"{directory}: cannot read the release: {exc}") from None
    shot = Snapshot(version=str(manifest.get("version", "?")))
    wanted = {LABEL, BINDS, *IDENTIFIERS}
    for triple in pyoxigraph.parse(document, format=pyoxigraph.RdfFormat.N_TRIPLES):
        subject, predicate, obj = triple.subject, triple.predicate.value, triple.object
        if predicate not in wanted or not isinstance(subject, pyoxigraph.NamedNode):
            continue
        if not subject.value.startswith(BASE) or isinstance(obj, pyoxigraph.BlankNode):
            continue
        if predicate == LABEL:
            # One label per term: the English one if there are several.
            if subject.value not in shot.labels or getattr(obj, "language", None) == "en":
                shot.labels[subject.value] = term_text(obj)
        elif predicate == BINDS:
            shot.pairs.add((subject.value, term_text(obj)))
        else:
            shot.identifiers[(subject.value, predicate)].add(term_text(obj))
    return shot


def compare(old: Snapshot, new: Snapshot) -> list[Change]:
    """List the changes from one release to the next, in a stable order."""
    changes: list[Change] = []
    for term in sorted(new.labels.keys() - old.labels.keys()):
        changes.append(Change("term", "added", term, LABEL, "", new.labels[term]))
    for term in sorted(old.labels.keys() - new.labels.keys()):
        changes.append(Change("term", "removed", term, LABEL, old.labels[term], ""))
    for term in sorted(old.labels.keys() & new.labels.keys()):
        if old.labels[term] != new.labels[term]:
            changes.append(Change("term", "relabelled", term, LABEL, old.labels[term],
                                  new.labels[term]))
    for ligand, receptor in sorted(new.pairs - old.pairs):
        changes.append(Change("pair", "added", ligand, BINDS, "", receptor))
    for ligand, receptor in sorted(old.pairs - new.pairs):
        changes.append(Change("pair", "removed", ligand, BINDS, receptor, ""))
    kept = old.labels.keys() & new.labels.keys()
    for key in sorted(old.identifiers.keys() | new.identifiers.keys()):
        before, after = old.identifiers.get(key, set()), new.identifiers.get(key, set())
        if key[0] in kept and before != after:
            changes.append(Change("identifier", "changed", key[0], key[1],
                                  " | ".join(sorted(before)), " | ".join(sorted(after))))
    return changes


def diff(old: Path, new: Path) -> tuple[Snapshot, Snapshot, list[Change], curies.Converter]:
    """Compare two releases; the converter (of the newer one) shows IRIs as CURIEs."""
    before, after = snapshot(old), snapshot(new)
    return before, after, compare(before, after), converter(
        load_context(release_dir(new) / CONTEXT))


def curie(text: str, conv: curies.Converter) -> str:
    """Show an IRI as a CURIE where a prefix fits; other text unchanged."""
    if not text.startswith(("http://", "https://")):
        return text
    return conv.compress(text) or f"<{text}>"


def shown(change: Change, conv: curies.Converter) -> Change:
    """The change with its IRIs as CURIEs."""
    return Change(change.kind, change.change, curie(change.subject, conv),
                  curie(change.property, conv),
                  " | ".join(curie(v, conv) for v in change.old.split(" | ")) if change.old else "",
                  " | ".join(curie(v, conv) for v in change.new.split(" | ")) if change.new else "")


def tsv(changes: list[Change], conv: curies.Converter) -> str:
    """The changes as TSV: a header, then one row per change."""
    lines = ["\t".join(TSV_HEADER)]
    for change in changes:
        row = shown(change, conv)
        lines.append("\t".join(" ".join(str(getattr(row, c)).split()) for c in TSV_HEADER))
    return "\n".join(lines) + "\n"


SECTIONS = (("term", "terms", ("added", "removed", "relabelled")),
            ("pair", "ligand-receptor pairs (bindsReceptor)", ("added", "removed")),
            ("identifier", "identifiers (HGNC, NCBI Gene, UniProt, exact matches)", ("changed",)))
MARKS = {"added": "+", "removed": "-", "relabelled": "~", "changed": "~"}


def summary(old: Snapshot, new: Snapshot, changes: list[Change], conv: curies.Converter,
            names: tuple[str, str]) -> str:
    """The changes for people: a count line per section, then one line per change."""
    out = [f"cytokg diff: {old.version} ({names[0]}) -> {new.version} ({names[1]})"]
    for kind, title, kinds in SECTIONS:
        mine = [shown(c, conv) for c in changes if c.kind == kind]
        counts = ", ".join(f"{sum(c.change == k for c in mine)} {k}" for k in kinds)
        out.append(f"{title}: {counts}")
        for c in mine:
            mark = MARKS[c.change]
            if kind == "term":
                text = {"added": f'"{c.new}"', "removed": f'"{c.old}"',
                        "relabelled": f'"{c.old}" -> "{c.new}"'}[c.change]
                out.append(f"  {mark} {c.subject}  {text}")
            elif kind == "pair":
                out.append(f"  {mark} {c.subject} -> {c.new or c.old}")
            else:
                out.append(f"  {mark} {c.subject} {c.property}: {c.old or '(none)'} -> "
                           f"{c.new or '(none)'}")
    return "\n".join(out) + "\n"
