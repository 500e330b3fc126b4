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
from abc import ABC, abstractmethod
from collections.abc import Iterable
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
GRAPH_FORMATS = ("turtle", "jsonld", "nt", "rdfxml")
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
