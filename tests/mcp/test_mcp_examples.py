"""The example questions come from a release's SIB-style examples.ttl when it ships one."""

from __future__ import annotations

from pathlib import Path

from server.mcp.examples import load_examples

BASE = "https://w3id.org/cytokg/"
EXAMPLES_TTL = """@prefix sh: <http://www.w3.org/ns/shacl#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix schema: <https://schema.org/> .
<https://w3id.org/cytokg/examples/10-two> a sh:SPARQLExecutable, sh:SPARQLSelectExecutable ;
    rdfs:comment "Which is the second question?"@en ;
    sh:select "SELECT ?x WHERE { ?x a <https://w3id.org/cytokg/Cytokine> }" ;
    schema:keywords "cytokines", "second" .
<https://w3id.org/cytokg/examples/9-one> a sh:SPARQLExecutable, sh:SPARQLAskExecutable ;
    rdfs:comment "Is this the first question?"@en ;
    sh:ask "ASK { ?s ?p ?o }" .
<https://w3id.org/cytokg/examples/no-query> a sh:SPARQLExecutable ;
    rdfs:comment "A question without a query is not offered"@en .
"""


def test_examples_ttl_is_read_in_numeric_order(tmp_path: Path) -> None:
    (tmp_path / "examples.ttl").write_text(EXAMPLES_TTL, encoding="utf-8")
    queries = tmp_path / "queries"
    queries.mkdir()
    (queries / "01-ignored.rq").write_text("# Question: ignored?\nASK {}\n", encoding="utf-8")
    found = load_examples(tmp_path, queries, BASE)
    assert [e.id for e in found] == ["9-one", "10-two"]
    first, second = found
    assert (first.form, first.question, first.query) == ("ask", "Is this the first question?",
                                                         "ASK { ?s ?p ?o }")
    assert second.iri == BASE + "examples/10-two" and second.keywords == ("cytokines", "second")


def test_without_examples_ttl_the_queries_folder_is_offered(tmp_path: Path) -> None:
    queries = tmp_path / "queries"
    queries.mkdir()
    (queries / "02-b.rq").write_text("# Question: Which b?\n# Topic: cells\nSELECT * {}\n",
                                     encoding="utf-8")
    (queries / "no-question.rq").write_text("SELECT * {}\n", encoding="utf-8")
    (found,) = load_examples(tmp_path, queries, BASE)
    assert (found.id, found.question, found.form, found.keywords) == (
        "02-b", "Which b?", "select", ("cells",))
    assert found.iri == BASE + "examples/02-b"
