"""Term search over labels, synonyms, abbreviations and identifiers, built once at app start.

Every searchable string is normalised (case folded, everything but letters and digits
dropped) so that "IL-6", "il 6" and "IL6" are the same key. Ranking, best first:
exact label, exact synonym or identifier, prefix, substring; ties go to the term whose own
name (IRI local name) is the query (``IL6`` before the mouse ``Il6``), then to the shorter
matched text, then to the label in alphabetical order.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from kg.store import QueryEngine, Term

from .terms import ALT_LABEL, IDENTIFIER_NAMES, LABEL, MAPPING_PROPERTIES, Catalog, select

MATCHES = ("exact label", "exact synonym", "exact identifier", "prefix", "substring")
RANK = {"exact label": 0, "exact synonym": 1, "exact identifier": 1, "prefix": 2, "substring": 3}
MAX_QUERY_CHARS = 200
MAX_LIMIT = 100
DEFAULT_LIMIT = 10


def normalize(text: str) -> str:
    """Case-fold and keep letters and digits only, so punctuation and spacing never matter."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return "".join(ch for ch in folded if ch.isalnum())


@dataclass(frozen=True, slots=True)
class Entry:
    """One searchable string of one term."""

    iri: str
    text: str
    key: str
    field: str  # label, synonym, identifier


@dataclass(frozen=True, slots=True)
class Hit:
    """One ranked answer: the term, the string that matched and how it matched."""

    iri: str
    label: str
    matched: str
    field: str
    match: str


class SearchIndex:
    """An in-memory list of normalised strings; a scan over it takes well under a millisecond."""

    def __init__(
        self, entries: list[Entry], labels: dict[str, str], local_names: dict[str, set[str]]
    ) -> None:
        """Keep the entries, the labels shown in answers and the terms by local-name key."""
        self.entries = entries
        self.labels = labels
        self.local_names = local_names

    @classmethod
    def build(cls, engine: QueryEngine, catalog: Catalog) -> SearchIndex:
        """Read labels, synonyms, identifiers and mappings of our terms, a query per property."""
        props = [LABEL, ALT_LABEL, *(catalog.base + n for n in IDENTIFIER_NAMES)]
        props += list(MAPPING_PROPERTIES)
        entries: list[Entry] = []
        # One indexed query per property; our namespace is kept here, as in Catalog.load.
        rows = ((s, Term("uri", p), v) for p in props for s, v in select(
            engine, f"SELECT DISTINCT ?s ?v WHERE {{ ?s <{p}> ?v FILTER(isIRI(?s)) }}"))
        for s, p, v in rows:
            if s is None or v is None or not s.value.startswith(catalog.base):
                continue
            if p.value == LABEL:
                field = "label"
            elif p.value == ALT_LABEL:
                field = "synonym"
            else:
                field = "identifier"
            if v.kind == "uri":
                # a mapping: search it by its CURIE (CL:0000235) and its local identifier
                curie = catalog.curie(v.value)
                if curie is None or catalog.local_path(v.value) is not None:
                    continue
                texts = [curie, curie.split(":", 1)[1]]
            elif v.kind == "literal":
                texts = [v.value]
            else:
                continue
            for text in texts:
                key = normalize(text)
                if key:
                    entries.append(Entry(s.value, text, key, field))
        # the local name of each IRI is an identifier too (cytokg:IL6 -> "IL6")
        for iri in catalog.labels:
            path = catalog.local_path(iri)
            if path and path != "/":
                entries.append(Entry(iri, path[1:], normalize(path[1:]), "identifier"))
        entries.sort(key=lambda e: (e.iri, e.field, e.key, e.text))
        local_names: dict[str, set[str]] = {}
        for iri in catalog.terms:
            path = catalog.local_path(iri)
            if path and path != "/" and normalize(path):
                local_names.setdefault(normalize(path), set()).add(iri)
        return cls(entries, catalog.labels, local_names)

    def resolve_name(self, name: str) -> tuple[str | None, list[str]]:
        """The one term a loosely written name stands for (``il-6`` -> IL6), else candidates.

        Local names are tried first (case, hyphens and spacing ignored), then labels,
        synonyms, symbols and identifiers; when several terms match at the first level
        that matches, none is chosen and all are returned.
        """
        key = normalize(name)
        if not key:
            return None, []
        found = self.local_names.get(key, set())
        if not found:
            found = {e.iri for e in self.entries if e.key == key}
        if len(found) == 1:
            return next(iter(found)), []
        return None, sorted(found)

    def search(self, query: str, limit: int = DEFAULT_LIMIT) -> list[Hit]:
        """The best ``limit`` terms for ``query``, one hit per term, in rank order."""
        key = normalize(query)
        if not key:
            return []
        best: dict[str, tuple[tuple[int, int, int, str], Hit]] = {}
        named = self.local_names.get(key, set())  # the term whose own name this is wins ties
        for e in self.entries:
            if e.key == key:
                match = f"exact {e.field}"
            elif e.key.startswith(key):
                match = "prefix"
            elif key in e.key:
                match = "substring"
            else:
                continue
            label = self.labels.get(e.iri, e.iri)
            order = (RANK[match], e.iri not in named, len(e.key), label.casefold())
            if e.iri not in best or order < best[e.iri][0]:
                best[e.iri] = (order, Hit(e.iri, label, e.text, e.field, match))
        ranked = sorted(best.values(), key=lambda oh: (oh[0], oh[1].iri))
        return [hit for _, hit in ranked[:limit]]
