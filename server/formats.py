"""The one media-type table and the one Accept parser (RFC 9110 section 12.5.1, with q-values)."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

Kind = Literal["tabular", "graph"]


@dataclass(frozen=True)
class Format:
    """A result format: short token (``format`` parameter), media type, and result kind."""

    token: str
    media_type: str
    kind: Kind
    w3c: str  # the W3C format IRI, named in the service description
    aliases: tuple[str, ...] = ()


_NS = "http://www.w3.org/ns/formats/"
#: SPARQL 1.1 Protocol 2.1.6 / 2.2.6: the result formats we serve, in order of preference.
FORMATS: tuple[Format, ...] = (
    Format(
        "json",
        "application/sparql-results+json",
        "tabular",
        _NS + "SPARQL_Results_JSON",
        ("application/json",),
    ),
    Format("xml", "application/sparql-results+xml", "tabular", _NS + "SPARQL_Results_XML"),
    Format("csv", "text/csv", "tabular", _NS + "SPARQL_Results_CSV"),
    Format("tsv", "text/tab-separated-values", "tabular", _NS + "SPARQL_Results_TSV"),
    Format("turtle", "text/turtle", "graph", _NS + "Turtle", ("application/x-turtle",)),
    Format("jsonld", "application/ld+json", "graph", _NS + "JSON-LD"),
    Format("nt", "application/n-triples", "graph", _NS + "N-Triples"),
    Format("rdfxml", "application/rdf+xml", "graph", _NS + "RDF_XML"),
)
#: Served to clients that ask for them, but not offered as downloads: a graph answer is one
#: default graph, so its N-Quads are its N-Triples and its TriG and N3 are its Turtle (both
#: languages contain Turtle), and they cost no other writer.
EQUIVALENT_FORMATS: tuple[Format, ...] = (
    Format("n3", "text/n3", "graph", _NS + "N3", ("text/rdf+n3", "application/n3")),
    Format("nquads", "application/n-quads", "graph", _NS + "N-Quads"),
    Format("trig", "application/trig", "graph", _NS + "TriG"),
)
ALL_FORMATS: tuple[Format, ...] = FORMATS + EQUIVALENT_FORMATS
BY_TOKEN: dict[str, Format] = {f.token: f for f in ALL_FORMATS}
BY_MEDIA_TYPE: dict[str, Format] = {
    mt: f for f in ALL_FORMATS for mt in (f.media_type, *f.aliases)
}
KINDS: tuple[Kind, ...] = ("tabular", "graph")

#: Names clients use that mean a different format for each kind of answer (per kind, so
#: ``application/json`` is SPARQL JSON for a SELECT and JSON-LD for a CONSTRUCT).  Kept out of
#: ``Format.aliases``, which must name one format whatever the answer.
KIND_MEDIA_TYPES: dict[Kind, dict[str, str]] = {
    "tabular": {"application/xml": "xml", "text/xml": "xml"},
    "graph": {
        "application/json": "jsonld",
        "application/xml": "rdfxml",
        "text/xml": "rdfxml",
        "text/plain": "nt",
        "application/turtle": "turtle",
        "application/x-json+ld": "jsonld",
    },
}
#: Short names accepted in ``format`` besides each format's own token (SPARQLWrapper sends
#: ``json-ld``, ``rdf+xml``, ``rdf`` and ``n3``; ``xml``/``json`` name each kind's XML/JSON form).
KIND_TOKENS: dict[Kind, dict[str, str]] = {
    "tabular": {},
    "graph": {
        "json-ld": "jsonld",
        "json": "jsonld",
        "rdf+xml": "rdfxml",
        "rdf": "rdfxml",
        "xml": "rdfxml",
        "ttl": "turtle",
        "ntriples": "nt",
        "n-triples": "nt",
        "nq": "nquads",
        "n-quads": "nquads",
    },
}


def lookup(value: str) -> Format | None:
    """Resolve a ``format`` parameter given as a token (``csv``) or a media type."""
    value = value.strip().lower()
    return BY_TOKEN.get(value) or BY_MEDIA_TYPE.get(value.split(";")[0].strip())


def resolve(value: str, kind: Kind) -> Format | None:
    """The format of ``kind`` that a ``format`` value names (token, alias or media type)."""
    value = value.strip().lower()
    media_type = value.split(";")[0].strip()
    fmt = BY_TOKEN.get(value) or BY_MEDIA_TYPE.get(media_type)
    if fmt is not None and fmt.kind == kind:
        return fmt
    token = KIND_TOKENS[kind].get(value) or KIND_MEDIA_TYPES[kind].get(media_type)
    return BY_TOKEN[token] if token else None


@dataclass(frozen=True)
class MediaRange:
    """One element of an Accept header."""

    type: str
    subtype: str
    q: float

    def specificity(self, media_type: str) -> int:
        """How precisely this range matches ``media_type`` (-1 = not at all)."""
        t, _, s = media_type.partition("/")
        if self.type == "*":
            return 0
        if self.type != t:
            return -1
        if self.subtype == "*":
            return 1
        return 2 if self.subtype == s else -1


def parse_accept(header: str | None) -> list[MediaRange]:
    """Parse an Accept header into media ranges, skipping malformed elements."""
    ranges: list[MediaRange] = []
    for element in (header or "").split(","):
        parts = [p.strip() for p in element.split(";")]
        mtype, _, subtype = parts[0].lower().partition("/")
        if not mtype or not subtype or (mtype == "*" and subtype != "*"):
            continue
        q = 1.0
        for param in parts[1:]:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = min(max(float(value.strip()), 0.0), 1.0)
                except ValueError:
                    q = 0.0
        ranges.append(MediaRange(mtype, subtype, q))
    return ranges


def negotiate(header: str | None, offers: Sequence[str]) -> str | None:
    """Pick the offer with the highest q (most specific range wins; ties keep offer order)."""
    if not offers:
        return None
    ranges = parse_accept(header)
    if not ranges:
        return offers[0]
    best: tuple[float, str] | None = None
    for offer in offers:
        matches = [(r.specificity(offer), r.q) for r in ranges if r.specificity(offer) >= 0]
        if not matches:
            continue
        q = max(matches)[1]
        if q > 0 and (best is None or q > best[0]):
            best = (q, offer)
    return best[1] if best else None


@functools.lru_cache(maxsize=512)  # clients repeat a few Accept headers; bounded against floods
def choose(header: str | None, kind: Kind) -> Format | None:
    """Negotiate a result format of one kind, offering aliases after canonical types."""
    offers = [f.media_type for f in ALL_FORMATS if f.kind == kind]
    offers += [a for f in ALL_FORMATS if f.kind == kind for a in f.aliases]
    offers += list(KIND_MEDIA_TYPES[kind])
    chosen = negotiate(header, offers)
    if chosen is None:
        return None
    token = KIND_MEDIA_TYPES[kind].get(chosen)
    return BY_TOKEN[token] if token else BY_MEDIA_TYPE[chosen]


def content_type(fmt: Format) -> str:
    """The Content-Type header value for a format (UTF-8 stated for text types)."""
    if fmt.media_type.startswith("text/"):
        return fmt.media_type + "; charset=utf-8"
    return fmt.media_type


def offered(kind: Kind) -> str:
    """Comma-separated media types of a kind, for 406 messages."""
    return ", ".join(f.media_type for f in ALL_FORMATS if f.kind == kind)
