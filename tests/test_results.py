"""kg.results: the engine-neutral SPARQL results writers, byte for byte (no engine needed)."""

from __future__ import annotations

import pytest

from kg.results import XSD_STRING, BindingsResult, BooleanResult, Term, write_bindings

XSD_INTEGER = "http://www.w3.org/2001/XMLSchema#integer"
QUOTED = Term("triple", "t", triple=(Term("uri", "urn:s"), Term("uri", "urn:p"),
                                     Term("literal", "o", XSD_STRING)))
ROWS: list[tuple[Term | None, ...]] = [
    (Term("uri", "urn:x:a&b"), Term("literal", 'say "hi",\tthen\nbye')),
    (Term("bnode", "b0"), Term("literal", "5", XSD_INTEGER)),
    (None, Term("literal", "Hallo", None, "de")),
    (QUOTED, None),
]
EXPECTED = {
    "json": (
        b'{"head":{"vars":["s","o"]},"results":{"bindings":['
        b'{"s":{"type":"uri","value":"urn:x:a&b"},'
        b'"o":{"type":"literal","value":"say \\"hi\\",\\tthen\\nbye"}},'
        b'{"s":{"type":"bnode","value":"b0"},'
        b'"o":{"type":"literal","value":"5","datatype":"' + XSD_INTEGER.encode() + b'"}},'
        b'{"o":{"type":"literal","value":"Hallo","xml:lang":"de"}},'
        b'{"s":{"type":"triple","value":{"subject":{"type":"uri","value":"urn:s"},'
        b'"predicate":{"type":"uri","value":"urn:p"},"object":{"type":"literal","value":"o"}}}}'
        b"]}}"
    ),
    "xml": (
        b'<?xml version="1.0"?>\n<sparql xmlns="http://www.w3.org/2005/sparql-results#">'
        b'<head><variable name="s"/><variable name="o"/></head><results>'
        b'<result><binding name="s"><uri>urn:x:a&amp;b</uri></binding>'
        b'<binding name="o"><literal>say "hi",\tthen\nbye</literal></binding></result>'
        b'<result><binding name="s"><bnode>b0</bnode></binding>'
        b'<binding name="o"><literal datatype="' + XSD_INTEGER.encode() + b'">5</literal>'
        b"</binding></result>"
        b'<result><binding name="o"><literal xml:lang="de">Hallo</literal></binding></result>'
        b'<result><binding name="s"><triple><subject><uri>urn:s</uri></subject>'
        b"<predicate><uri>urn:p</uri></predicate><object><literal>o</literal></object>"
        b"</triple></binding></result></results></sparql>\n"
    ),
    "csv": (
        b's,o\r\nurn:x:a&b,"say ""hi"",\tthen\nbye"\r\n_:b0,5\r\n,Hallo\r\n'
        b'"<< <urn:s> <urn:p> ""o"" >>",\r\n'
    ),
    "tsv": (
        b'?s\t?o\n<urn:x:a&b>\t"say \\"hi\\",\\tthen\\nbye"\n'
        b'_:b0\t"5"^^<' + XSD_INTEGER.encode() + b">\n"
        b'\t"Hallo"@de\n<< <urn:s> <urn:p> "o" >>\t\n'
    ),
}
ASK = {
    "json": b'{"head": {}, "boolean": true}',
    "xml": b'<?xml version="1.0"?>\n<sparql xmlns="http://www.w3.org/2005/sparql-results#">'
    b"<head/><boolean>true</boolean></sparql>\n",
    "csv": b"_askResult\r\ntrue\r\n",
    "tsv": b"?_askResult\ntrue\n",
}


@pytest.mark.parametrize("fmt", sorted(EXPECTED))
def test_select_writers_are_byte_exact(fmt: str) -> None:
    assert write_bindings(["s", "o"], ROWS, fmt) == EXPECTED[fmt]


@pytest.mark.parametrize("fmt", sorted(ASK))
def test_ask_writers_are_byte_exact(fmt: str) -> None:
    out = BooleanResult(True).serialize(fmt, 0)
    assert (out.body, out.count, out.truncated) == (ASK[fmt], 1, False)


def test_bindings_result_caps_rows_and_reports_truncation() -> None:
    out = BindingsResult(["s", "o"], iter(ROWS)).serialize("tsv", 2)
    assert (out.count, out.truncated) == (2, True)
    assert out.body == b"".join(EXPECTED["tsv"].splitlines(keepends=True)[:3])


@pytest.mark.parametrize("fmt", ["turtle", "yaml"])
def test_unknown_formats_are_refused(fmt: str) -> None:
    with pytest.raises(ValueError, match="cannot carry a SELECT result"):
        write_bindings(["s"], [], fmt)
    with pytest.raises(ValueError, match="cannot carry a boolean result"):
        BooleanResult(False).serialize(fmt)
