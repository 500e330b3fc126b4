"""Query inspection before execution: refuse SERVICE, updates and foreign dataset IRIs.

SPARQL 1.1 Protocol 2.1.4 lets the service refuse queries; SPARQL 1.1 Query 13.2
(dataset clause) and Federated Query (SERVICE) would otherwise let a query make
the engine reach other hosts or files.  A fast lexer finds keywords outside
strings, IRIs and comments; only queries that contain FROM are fully parsed
(with rdflib) to resolve their dataset IRIs, so ordinary queries pay no parse.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

QUERY_FORMS = frozenset({"SELECT", "ASK", "CONSTRUCT", "DESCRIBE"})
UPDATE_FORMS = frozenset(
    {"INSERT", "DELETE", "LOAD", "CLEAR", "DROP", "CREATE", "ADD", "MOVE", "COPY", "WITH"}
)
_PN = r"[A-Za-z_\u00B7\u00C0-\uFFFF][\w\-.\u00B7\u00C0-\uFFFF]*"
_LOCAL = r"(?:[\w\-.:%\u00B7\u00C0-\uFFFF]|\\[_~.\-!$&'()*+,;=/?#@%])*"
_TOKEN = re.compile(
    r"""
      (?P<string>'''(?:(?:'|'')?(?:[^'\\]|\\.))*'''
               |\"\"\"(?:(?:"|"")?(?:[^"\\]|\\.))*\"\"\"
               |'(?:[^'\\\n\r]|\\.)*'
               |"(?:[^"\\\n\r]|\\.)*")
    | (?P<iri><(?:[^<>"{}|^`\\\x00-\x20]|\\u[0-9A-Fa-f]{4}|\\U[0-9A-Fa-f]{8})*>)
    | (?P<comment>\#[^\n\r]*)
    | (?P<space>\s+)
    | (?P<var>[?$][\w\u00B7\u00C0-\uFFFF]+)
    | (?P<lang>@[A-Za-z]+(?:-[A-Za-z0-9]+)*)
    | (?P<number>\d[\w.]*)
    | (?P<bnode>_:"""
    + _LOCAL
    + r""")
    | (?P<word>"""
    + _PN
    + r"""(?::"""
    + _LOCAL
    + r""")?|:"""
    + _LOCAL
    + r""")
    | (?P<other>.)
    """,
    re.VERBOSE | re.DOTALL,
)


#: Deepest nesting of ``{``, ``(``, ``[`` (and runs of ``!``) accepted.  The engine's recursive
#: parser overflows its stack (killing the query process) at a few thousand levels; real queries
#: need a few dozen.
MAX_NESTING = 256
_OPEN = frozenset("{([")
_CLOSE = frozenset("})]")


class Refused(Exception):
    """A query the endpoint will not run; the message says why (sent as 400)."""


class UpdateRefused(Refused):
    """An update sent as a query; refused because the endpoint is read-only."""


@dataclass(frozen=True)
class Inspection:
    """What the lexer learnt: the query form and whether a dataset clause is present."""

    form: str | None
    has_from: bool


#: Strings, IRI references and comments: the tokens whose text is never a keyword.
_SKIP = re.compile(
    r"""'''(?:(?:'|'')?(?:[^'\\]|\\.))*'''|\"\"\"(?:(?:"|"")?(?:[^"\\]|\\.))*\"\"\"
      |'(?:[^'\\\n\r]|\\.)*'|"(?:[^"\\\n\r]|\\.)*"
      |<(?:[^<>"{}|^`\\\x00-\x20]|\\u[0-9A-Fa-f]{4}|\\U[0-9A-Fa-f]{8})*>
      |\#[^\n\r]*""",
    re.VERBOSE | re.DOTALL,
)
#: The other tokens that look like words; only bare words (the last group) are captured.
_BARE = re.compile(
    r"[?$][\w\u00B7\u00C0-\uFFFF]+|@[A-Za-z]+(?:-[A-Za-z0-9]+)*|\d[\w.]*|_:" + _LOCAL
    + r"|(" + _PN + r"(?::" + _LOCAL + r")?|:" + _LOCAL + r")"
)
_NESTERS = re.compile(r"[{(\[!]")


def keywords(query: str) -> list[str]:
    """Upper-cased bare words outside strings, IRIs and comments, in order.

    Without a backslash no token but a string, IRI or comment can hold a quote, ``<`` or
    ``#``, so those are blanked out in one pass and the words found in another, both in C;
    when the brackets and ``!`` left could not nest too deep, that is the whole answer.
    Anything else takes the token-by-token scan, which gives the same words.
    """
    if "\\" not in query:
        bare = _SKIP.sub(" ", query)
        if len(_NESTERS.findall(bare)) <= MAX_NESTING:
            return [w.upper() for w in _BARE.findall(bare) if w and ":" not in w]
    return scan_keywords(query)


def scan_keywords(query: str) -> list[str]:
    """:func:`keywords` token by token, checking nesting depth and stray backslashes."""
    words: list[str] = []
    pos = 0
    depth = unary = 0  # open brackets, and the current run of `!` (which the parser nests)
    for match in _TOKEN.finditer(query):
        if match.start() != pos:  # defensive: the pattern covers every character
            raise Refused("the query could not be tokenised")
        pos = match.end()
        kind, text = match.lastgroup, match.group()
        if unary and kind not in ("space", "comment") and text != "!":
            depth, unary = depth - unary, 0
        if kind == "word" and text and ":" not in text:
            words.append(text.upper())
        elif kind == "other" and (text in _OPEN or text == "!"):
            depth += 1
            unary += text == "!"
            if depth > MAX_NESTING:
                raise Refused(
                    f"The query nests groups, brackets or parentheses more than {MAX_NESTING} "
                    "levels deep; flatten it."
                )
        elif kind == "other" and text in _CLOSE:
            depth = max(0, depth - 1)
        elif kind == "other" and text == "\\":
            raise Refused("codepoint escapes (\\u, \\U) are only supported inside strings and IRIs")
    return words


def inspect_query(query: str) -> Inspection:
    """Refuse updates and SERVICE; report the query form and whether FROM occurs."""
    words = keywords(query)
    form = next((w for w in words if w in QUERY_FORMS or w in UPDATE_FORMS), None)
    if form in UPDATE_FORMS:
        raise UpdateRefused(f"SPARQL Update ({form}) is not supported: this endpoint is read-only.")
    if "SERVICE" in words:
        raise Refused(
            "SERVICE (federated query) is not allowed: this endpoint queries only its own graphs."
        )
    return Inspection(form=form, has_from="FROM" in words)


def dataset_clause(query: str) -> tuple[list[str], list[str]]:
    """Resolve FROM / FROM NAMED IRIs (prefixes and BASE applied) with rdflib's parser."""
    from rdflib.plugins.sparql.algebra import translateQuery
    from rdflib.plugins.sparql.parser import parseQuery

    try:
        parsed = translateQuery(parseQuery(query))
    except Exception as exc:  # pyparsing and rdflib raise assorted types, all with text
        raise Refused(f"Query parse error: {exc}") from None
    default: list[str] = []
    named: list[str] = []
    for clause in parsed.algebra.datasetClause or []:
        if "default" in clause:  # CompValue.get() does not return None for missing keys
            default.append(str(clause["default"]))
        else:
            named.append(str(clause["named"]))
    return default, named


def check_graphs(iris: Sequence[str], ours: Sequence[str], where: str) -> None:
    """Refuse any graph IRI that is not one of ours; nothing is ever fetched."""
    foreign = [iri for iri in iris if iri not in ours]
    if foreign:
        raise Refused(
            f"{where} names graph(s) not served here: {', '.join(foreign)}. "
            f"Available graphs: {', '.join(ours)}."
        )
