"""Run SPARQL over a built release from Python or the CLI, with readable CURIE-rendered answers."""

from __future__ import annotations

from pathlib import Path

import curies

from kg.store import (
    GRAPH_ASSERTED,
    GRAPH_INFERRED,
    BindingsResult,
    BooleanResult,
    QueryResult,
    QuerySyntaxError,
    Term,
    open_store,
)
from kg.vocab import converter, load_context

CONTEXT = "context.jsonld"
GRAPHS = {"full": None, "asserted": [GRAPH_ASSERTED], "inferred": [GRAPH_INFERRED]}


class QueryError(Exception):
    """A query that cannot be read or run; the message says which and why."""


def read_query(query_or_file: str) -> str:
    """Take the text of a query file, or the argument itself when it is not a file."""
    path = Path(query_or_file)
    if path.is_file():
        try:
            return path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise QueryError(f"{query_or_file}: cannot read: {exc}") from None
    if query_or_file.endswith((".rq", ".sparql")) and not any(c.isspace() for c in query_or_file):
        raise QueryError(f"{query_or_file}: no such query file")
    return query_or_file


def run(release: Path, text: str, graph: str = "full") -> QueryResult:
    """Evaluate a query over the full, asserted or inferred graph of a release."""
    try:
        store = open_store(release)
    except FileNotFoundError as exc:
        raise QueryError(f"{exc}; run 'cytokg build' first") from None
    try:
        return store.query(text, default_graphs=GRAPHS[graph])
    except QuerySyntaxError as exc:
        # The parser's message spans lines; one line keeps the CLI's error contract.
        raise QueryError(f"query syntax error: {' '.join(str(exc).split())}") from None


def release_converter(release: Path) -> curies.Converter:
    """The CURIE converter of the release's published JSON-LD context."""
    return converter(load_context(release / CONTEXT))


def render_term(term: Term | None, conv: curies.Converter) -> str:
    """Render a term as people read it: IRIs as CURIEs (or <iri>), literals as their text."""
    if term is None:
        return ""
    if term.kind == "uri":
        curie = conv.compress(term.value)
        return curie if curie else f"<{term.value}>"
    if term.kind == "bnode":
        return f"_:{term.value}"
    return term.value


def rows(result: QueryResult, conv: curies.Converter) -> tuple[list[str], list[tuple[str, ...]]]:
    """Return a result as a header and rendered rows; an ASK answer is one 'ask' column."""
    if isinstance(result, BooleanResult):
        return ["ask"], [("true" if result.value else "false",)]
    if not isinstance(result, BindingsResult):
        raise QueryError("only SELECT and ASK queries have rows; use --format with a graph query")
    table, _ = result.take(None)
    return list(result.variables), [tuple(render_term(t, conv) for t in row) for row in table]


def expected_tsv(result: QueryResult, conv: curies.Converter) -> str:
    """Write a result in the `.expected.tsv` form of a competency question.

    That form is what tests/test_competency.py compares with: a header of the variable names
    (without `?`), then one line per row of tab-separated cells rendered as `rows` renders them.
    """
    header, table = rows(result, conv)
    for row in table:
        if any(("\t" in cell or "\n" in cell or "\r" in cell) for cell in row):
            raise QueryError("a value holds a tab or a line break, which the .expected.tsv "
                             "form cannot hold; select a shorter value (e.g. STR or SUBSTR)")
    return "".join("\t".join(line) + "\n" for line in [header, *table])


def format_result(result: QueryResult, fmt: str, conv: curies.Converter) -> str:
    """Format a result as a terminal table, a SPARQL results document or expected.tsv."""
    if fmt == "expected":
        return expected_tsv(result, conv)
    if not isinstance(result, BooleanResult | BindingsResult):
        if fmt != "table":
            raise QueryError(f"a graph (CONSTRUCT/DESCRIBE) result has no {fmt} form; use table")
        return result.serialize("turtle").body.decode("utf-8")
    if fmt != "table":
        return result.serialize(fmt).body.decode("utf-8")
    header, table = rows(result, conv)
    widths = [max([len(h), *(len(r[i]) for r in table)]) for i, h in enumerate(header)]
    line = "  ".join("-" * w for w in widths)
    out = ["  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)), line]
    out += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in table]
    out.append(f"({len(table)} row{'s' if len(table) != 1 else ''})")
    return "\n".join(s.rstrip() for s in out) + "\n"
