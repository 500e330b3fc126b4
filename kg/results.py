"""The engine-neutral answer model and its SPARQL results writers, shared by every engine.

An engine turns its own answer into a :class:`QueryResult`; ASK and SELECT answers made of
neutral :class:`Term` rows are written here, byte for byte the same whichever engine
answered.  The writers implement:

- SPARQL 1.1 Query Results JSON Format, https://www.w3.org/TR/sparql11-results-json/
- SPARQL Query Results XML Format (Second Edition), https://www.w3.org/TR/rdf-sparql-XMLres/
- SPARQL 1.1 Query Results CSV and TSV Formats, https://www.w3.org/TR/sparql11-results-csv-tsv/

with quoted triples (``kind="triple"``) written as the SPARQL-star results formats of the
RDF-star CG report, https://w3c.github.io/rdf-star/cg-spec/2021-12-17.html.  Graph answers
(CONSTRUCT/DESCRIBE) are written by each engine's native serialisers, with :data:`PREFIXES`.
"""

from __future__ import annotations

import csv
import io
import json
import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from itertools import islice
from typing import Literal
from xml.sax.saxutils import escape as xml_escape
from xml.sax.saxutils import quoteattr

from kg.vocab import BASE

XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"
RDF_LANG_STRING = "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString"
#: Prefixes used when a graph serialisation supports them.
PREFIXES: dict[str, str] = {
    "cytokg": BASE,
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
    "owl": "http://www.w3.org/2002/07/owl#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
}

TABULAR_FORMATS = ("json", "xml", "csv", "tsv")
GRAPH_FORMATS = ("turtle", "jsonld", "nt", "rdfxml", "n3", "nquads", "trig")
#: Graph formats whose bytes, for a graph answer (one default graph), are another format's:
#: N-Quads without graph names are N-Triples; TriG and N3 both contain Turtle.
SAME_BYTES_AS: dict[str, str] = {"nquads": "nt", "trig": "turtle", "n3": "turtle"}
ResultKind = Literal["boolean", "bindings", "graph"]


@dataclass(frozen=True, slots=True)
class Term:
    """An engine-neutral RDF term so that tabular serialisers are shared by all engines."""

    kind: Literal["uri", "bnode", "literal", "triple"]
    value: str
    datatype: str | None = None
    lang: str | None = None
    triple: tuple[Term, Term, Term] | None = None


@dataclass(frozen=True, slots=True)
class Serialized:
    """Serialised result bytes plus the facts the endpoint reports in headers."""

    body: bytes
    count: int
    truncated: bool


class QueryResult(ABC):
    """The answer to one query; ``serialize`` is the per-engine serialisation hook."""

    kind: ResultKind

    @abstractmethod
    def serialize(self, fmt: str, limit: int | None = None) -> Serialized:
        """Write at most ``limit`` rows or triples in format ``fmt`` so big answers stay bounded."""


class BooleanResult(QueryResult):
    """ASK answer shared by every engine, since it needs no engine-specific writer."""

    kind: ResultKind = "boolean"

    def __init__(self, value: bool) -> None:
        """Keep the boolean, the whole of an ASK answer."""
        self.value = value

    def serialize(self, fmt: str, limit: int | None = None) -> Serialized:
        """Write the ASK answer in a SPARQL results format (a boolean is never truncated)."""
        return Serialized(write_boolean(self.value, fmt), 1, False)


class BindingsResult(QueryResult):
    """SELECT answer as neutral rows, so all engines share one set of tabular writers."""

    kind: ResultKind = "bindings"

    def __init__(self, variables: list[str], rows: Iterable[tuple[Term | None, ...]]) -> None:
        """Keep the variables and a lazy row iterator (consumed once), so rows are never copied."""
        self.variables = variables
        self.rows = iter(rows)

    def take(self, limit: int | None) -> tuple[list[tuple[Term | None, ...]], bool]:
        """Materialise at most ``limit`` rows and tell whether more existed."""
        if limit is None:
            return list(self.rows), False
        rows = list(islice(self.rows, limit + 1))
        return rows[:limit], len(rows) > limit

    def serialize(self, fmt: str, limit: int | None = None) -> Serialized:
        """Write the (possibly truncated) table in a SPARQL results format."""
        rows, truncated = self.take(limit)
        return Serialized(write_bindings(self.variables, rows, fmt), len(rows), truncated)


def write_boolean(value: bool, fmt: str) -> bytes:
    """Serialise an ASK result; CSV/TSV use a one-cell table since the spec defines none."""
    if fmt == "json":
        return json.dumps({"head": {}, "boolean": value}).encode()
    if fmt == "xml":
        return (
            '<?xml version="1.0"?>\n<sparql xmlns="http://www.w3.org/2005/sparql-results#">'
            f"<head/><boolean>{'true' if value else 'false'}</boolean></sparql>\n"
        ).encode()
    if fmt == "csv":
        return f"_askResult\r\n{'true' if value else 'false'}\r\n".encode()
    if fmt == "tsv":
        return f"?_askResult\n{'true' if value else 'false'}\n".encode()
    raise ValueError(f"format {fmt!r} cannot carry a boolean result")


def _json_term(t: Term) -> dict[str, object]:
    """SPARQL 1.1 Query Results JSON, section 3.2.2, RDF term encoding."""
    if t.kind == "literal":
        d: dict[str, object] = {"type": "literal", "value": t.value}
        if t.lang:
            d["xml:lang"] = t.lang
        elif t.datatype and t.datatype != XSD_STRING:
            d["datatype"] = t.datatype
        return d
    if t.kind == "triple" and t.triple:
        s, p, o = t.triple
        return {
            "type": "triple",
            "value": {
                "subject": _json_term(s),
                "predicate": _json_term(p),
                "object": _json_term(o),
            },
        }
    return {"type": t.kind, "value": t.value}


def _xml_term(t: Term) -> str:
    """SPARQL Query Results XML, section 2.3.1, RDF term encoding."""
    if t.kind == "uri":
        return f"<uri>{xml_escape(t.value)}</uri>"
    if t.kind == "bnode":
        return f"<bnode>{xml_escape(t.value)}</bnode>"
    if t.kind == "triple" and t.triple:
        s, p, o = t.triple
        return (
            f"<triple><subject>{_xml_term(s)}</subject><predicate>{_xml_term(p)}</predicate>"
            f"<object>{_xml_term(o)}</object></triple>"
        )
    if t.lang:
        return f"<literal xml:lang={quoteattr(t.lang)}>{xml_escape(t.value)}</literal>"
    if t.datatype and t.datatype != XSD_STRING:
        return f"<literal datatype={quoteattr(t.datatype)}>{xml_escape(t.value)}</literal>"
    return f"<literal>{xml_escape(t.value)}</literal>"


def _nt_string(value: str) -> str:
    """Escape a lexical form as a quoted N-Triples/Turtle string (used by TSV)."""
    out = (
        value.replace("\\", "\\\\")
        .replace('"', '\\"')
        .replace("\n", "\\n")
        .replace("\r", "\\r")
        .replace("\t", "\\t")
    )
    return f'"{out}"'


def term_to_nt(t: Term) -> str:
    """RDF term in N-Triples/SPARQL syntax (SPARQL 1.1 TSV results, section 3)."""
    if t.kind == "uri":
        return f"<{t.value}>"
    if t.kind == "bnode":
        return f"_:{t.value}"
    if t.kind == "triple" and t.triple:
        return "<< " + " ".join(term_to_nt(x) for x in t.triple) + " >>"
    if t.lang:
        return f"{_nt_string(t.value)}@{t.lang}"
    if t.datatype and t.datatype != XSD_STRING:
        return f"{_nt_string(t.value)}^^<{t.datatype}>"
    return _nt_string(t.value)


def _csv_value(t: Term | None) -> str:
    """SPARQL 1.1 CSV results, section 2: IRIs bare, literals as lexical form, bnodes as _:x."""
    if t is None:
        return ""
    if t.kind == "bnode":
        return f"_:{t.value}"
    if t.kind == "triple":
        return term_to_nt(t)
    return t.value


def write_bindings(variables: list[str], rows: list[tuple[Term | None, ...]], fmt: str) -> bytes:
    """Serialise a SELECT table as SPARQL results JSON, XML, CSV or TSV."""
    if fmt == "json":
        bindings = [
            {v: _json_term(t) for v, t in zip(variables, row, strict=True) if t is not None}
            for row in rows
        ]
        doc = {"head": {"vars": variables}, "results": {"bindings": bindings}}
        return json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode()
    if fmt == "xml":
        parts = [
            '<?xml version="1.0"?>\n<sparql xmlns="http://www.w3.org/2005/sparql-results#"><head>'
        ]
        parts += [f"<variable name={quoteattr(v)}/>" for v in variables]
        parts.append("</head><results>")
        for row in rows:
            parts.append("<result>")
            for v, t in zip(variables, row, strict=True):
                if t is not None:
                    parts.append(f"<binding name={quoteattr(v)}>{_xml_term(t)}</binding>")
            parts.append("</result>")
        parts.append("</results></sparql>\n")
        return "".join(parts).encode()
    if fmt == "csv":
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\r\n")
        writer.writerow(variables)
        for row in rows:
            writer.writerow([_csv_value(t) for t in row])
        return buf.getvalue().encode()
    if fmt == "tsv":
        lines = ["\t".join("?" + v for v in variables)]
        lines += ["\t".join("" if t is None else term_to_nt(t) for t in row) for row in rows]
        return ("\n".join(lines) + "\n").encode()
    raise ValueError(f"format {fmt!r} cannot carry a SELECT result")


# ----------------------------------------------------------------------------- Turtle

#: Local names written as prefixed names: a letter or underscore, then letters, digits,
#: ``_`` and ``-``, dots only inside.  Anything else (``/``, ``(``, ``#``, a leading digit...)
#: would need a backslash escape or trips older parsers, so that IRI is written in full.
_PLAIN_LOCAL = re.compile(r"(?:[A-Za-z_][A-Za-z0-9_-]*(?:\.[A-Za-z0-9_-]+)*)?\Z")
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"


def _turtle_iri(iri: str, namespaces: list[tuple[str, str]]) -> str:
    """A prefixed name when the local part needs no escape, else the IRI in full."""
    for prefix, ns in namespaces:
        if iri.startswith(ns) and _PLAIN_LOCAL.match(iri, len(ns)):
            return f"{prefix}:{iri[len(ns):]}"
    return f"<{iri}>"


def _turtle_writer(namespaces: list[tuple[str, str]]) -> Callable[[object], str]:
    """A memoising term writer: Turtle(-star) syntax, never escaping a prefixed name."""
    import pyoxigraph as ox

    memo: dict[object, str] = {}

    def term(t: object) -> str:
        text = memo.get(t)
        if text is not None:
            return text
        if isinstance(t, ox.NamedNode):
            text = _turtle_iri(t.value, namespaces)
        elif isinstance(t, ox.Literal):
            text = str(ox.Literal(t.value))  # the lexical form, quoted and escaped
            if t.language:
                text = f"{text}@{t.language}"
            elif t.datatype.value != XSD_STRING:
                text = f"{text}^^{_turtle_iri(t.datatype.value, namespaces)}"
        elif isinstance(t, ox.Triple):
            text = f"<< {term(t.subject)} {term(t.predicate)} {term(t.object)} >>"
        else:
            text = str(t)  # a blank node: _:label
        if len(memo) < 100_000:
            memo[t] = text
        return text

    return term


def _nt_lines(ntriples: bytes) -> Iterator[tuple[str, str, str]] | None:
    """Split canonical N-Triples (one triple a line, as pyoxigraph and rdflib write them).

    Returns None when a line is not that simple (quoted triples, comments), so the caller
    parses properly instead.
    """
    text = ntriples.decode("utf-8")
    if "<<" in text or "\n#" in text or text.startswith("#"):
        return None
    triples: list[tuple[str, str, str]] = []
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        subject, _, rest = line.partition(" ")
        predicate, _, obj = rest.partition(" ")
        if not obj.endswith(" .") or not predicate.startswith("<"):
            return None
        triples.append((subject, predicate, obj[:-2].rstrip()))
    return iter(triples)


def turtle_from_ntriples(ntriples: bytes, prefixes: dict[str, str]) -> bytes:
    """Write N-Triples as Turtle grouped by subject, with prefixed names only where plain.

    Native writers (pyoxigraph, rdflib) escape characters in prefixed names, such as
    ``cytokg:releases\\/0.1.0``; that is legal Turtle, but the OWL API and other parsers
    reject it, so here such an IRI is written in full instead.  N-Triples terms are
    Turtle terms, so canonical lines are rewritten as text; others are parsed.
    """
    namespaces = sorted(prefixes.items(), key=lambda item: -len(item[1]))
    memo: dict[str, str] = {}
    rdf_type = f"<{RDF_TYPE}>"

    def text_term(t: str) -> str:
        out = memo.get(t)
        if out is None:
            if t.startswith("<"):
                out = _turtle_iri(t[1:-1], namespaces)
            elif t.endswith(">") and '"^^<' in t:
                lexical, _, datatype = t.rpartition("^^<")
                if datatype[:-1] == XSD_STRING:
                    out = lexical
                else:
                    out = f"{lexical}^^{_turtle_iri(datatype[:-1], namespaces)}"
            else:
                out = t  # plain or language-tagged literal, or blank node
            if len(memo) < 100_000:
                memo[t] = out
        return out

    lines = _nt_lines(ntriples)
    if lines is not None:
        triples: Iterable[tuple[str, str, str]] = (
            (text_term(s), "a" if p == rdf_type else text_term(p), text_term(o))
            for s, p, o in lines
        )
    else:
        import pyoxigraph as ox

        term = _turtle_writer(namespaces)
        triples = (
            (term(t.subject), "a" if t.predicate.value == RDF_TYPE else term(t.predicate),
             term(t.object))
            for t in ox.parse(ntriples, format=ox.RdfFormat.N_TRIPLES)
        )
    subjects: dict[str, dict[str, list[str]]] = {}
    for subject, predicate, obj in triples:
        objects = subjects.setdefault(subject, {}).setdefault(predicate, [])
        if obj not in objects:
            objects.append(obj)
    out = [f"@prefix {p}: <{ns}> .\n" for p, ns in prefixes.items()]
    for subject, predicates in subjects.items():
        lines_out = [f"{p} {' , '.join(objs)}" for p, objs in predicates.items()]
        out.append(f"\n{subject} " + " ;\n    ".join(lines_out) + " .\n")
    return "".join(out).encode()
