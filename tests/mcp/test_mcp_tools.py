"""Every tool, resource and the prompt of ``cytokg mcp``, over stdio and streamable HTTP:
good input, bad input (a tool error naming the parameter) and a query past the time limit."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

from mcp_support import ROW_LIMIT, TIME_LIMIT, Session
from support import REPO

TOOLS = {"search_terms", "describe_term", "run_sparql", "list_examples", "run_example",
         "explain", "find_pairs", "find_drugs"}
CYTOKG = "https://w3id.org/cytokg/"


def error_text(result: object) -> str:
    """The message of a tool error (and check that it is one)."""
    assert result.is_error, result
    return result.content[0].text


def ok(result: object) -> dict:
    """The structured answer of a successful call."""
    assert not result.is_error, result.content[0].text
    return result.structured_content


def test_every_tool_is_listed_with_description_and_schemas(mcp: Session) -> None:
    listed = mcp.run(mcp.client.list_tools()).tools
    assert {t.name for t in listed} == TOOLS
    for tool in listed:
        assert len(tool.description or "") > 80, tool.name
        assert tool.input_schema["type"] == "object" and tool.input_schema["properties"]
        for name, prop in tool.input_schema["properties"].items():
            assert prop.get("description"), (tool.name, name)
        assert tool.output_schema and tool.output_schema["type"] == "object", tool.name
        assert tool.annotations.read_only_hint is True


def test_search_terms(mcp: Session) -> None:
    found = ok(mcp.call("search_terms", {"query": "il 23"}))
    first = found["results"][0]
    assert first["curie"] == "cytokg:IL23" and first["label"]
    assert "cytokg:Interleukin" in {t["curie"] for t in first["types"]}
    by_id = ok(mcp.call("search_terms", {"query": "P05231", "limit": 3}))["results"]
    assert by_id[0]["curie"] == "cytokg:IL6" and by_id[0]["match"] == "exact identifier"
    assert "query" in error_text(mcp.call("search_terms", {"query": " -- "}))
    assert "limit" in error_text(mcp.call("search_terms", {"query": "IL6", "limit": 0}))
    assert "query" in error_text(mcp.call("search_terms", {}))


def test_describe_term_gives_both_directions_with_sources(mcp: Session) -> None:
    term = ok(mcp.call("describe_term", {"term": "IL-6"}))
    assert term["curie"] == "cytokg:IL6" and term["definitions"]
    assert term["asserted_types"] and term["inferred_types"]
    assert any(i["value"]["value"] == "HGNC:6018" for i in term["identifiers"])
    assert term["mappings"]
    outgoing = {(r["property"]["curie"], r["value"].get("curie")): r for r in term["outgoing"]}
    binds = outgoing[("cytokg:bindsReceptor", "cytokg:IL6ReceptorComplex")]
    assert not binds["inferred"] and binds["sources"]
    incoming = {(r["property"]["curie"], r["value"].get("curie")) for r in term["incoming"]}
    assert ("cytokg:actsOn", "cytokg:Tocilizumab") in incoming or \
        ("cytokg:actedOnBy", "cytokg:Tocilizumab") in outgoing
    assert any(r["inferred"] for r in term["incoming"] + term["outgoing"])
    asserted = [r for r in term["outgoing"] + term["incoming"] if not r["inferred"]]
    assert asserted and sum(bool(r["sources"]) for r in asserted) > len(asserted) // 2
    assert any(s.get("pmid") for r in asserted for s in r["sources"])
    assert "term" in error_text(mcp.call("describe_term", {"term": "no-such-cytokine-xyz"}))
    assert "term" in error_text(mcp.call("describe_term", {"term": "foo:bar"}))


def test_run_sparql_answers_and_truncates(mcp: Session) -> None:
    query = ("PREFIX cytokg: <https://w3id.org/cytokg/> SELECT ?r WHERE "
             "{ cytokg:IL6 cytokg:bindsReceptor ?r }")
    answer = ok(mcp.call("run_sparql", {"query": query}))
    assert answer["form"] == "bindings" and not answer["truncated"]
    rows = answer["results"]["results"]["bindings"]
    assert {"type": "uri", "value": CYTOKG + "IL6ReceptorComplex"} in [r["r"] for r in rows]
    many = ok(mcp.call("run_sparql", {"query": "SELECT * WHERE { ?s ?p ?o }"}))
    assert many["truncated"] and many["count"] == ROW_LIMIT == many["row_limit"]
    assert len(many["results"]["results"]["bindings"]) == ROW_LIMIT
    ask = ok(mcp.call("run_sparql", {"query": query.replace("SELECT ?r WHERE", "ASK"),
                                     "graph": "asserted"}))
    assert ask["form"] == "boolean" and ask["results"]["boolean"] is True
    inferred = ok(mcp.call("run_sparql", {"query": query.replace("SELECT ?r WHERE", "ASK"),
                                          "graph": "inferred"}))
    assert inferred["results"]["boolean"] is False  # an asserted statement is not inferred
    graph = ok(mcp.call("run_sparql", {"query": "DESCRIBE <https://w3id.org/cytokg/IL6>"}))
    assert graph["form"] == "graph" and "IL6" in graph["graph"]


def test_run_sparql_refuses_bad_and_unsafe_queries(mcp: Session, tmp_path: Path) -> None:
    assert "query" in error_text(mcp.call("run_sparql", {"query": "SELEC ?x"}))
    assert "query" in error_text(mcp.call("run_sparql", {"query": "   "}))
    update = error_text(mcp.call("run_sparql", {"query": "INSERT DATA { <a:b> <a:c> <a:d> }"}))
    assert "read-only" in update
    service = error_text(mcp.call("run_sparql", {
        "query": "SELECT * WHERE { SERVICE <http://127.0.0.1:9/sparql> { ?s ?p ?o } }"}))
    assert "SERVICE" in service
    secret = tmp_path / "secret.ttl"
    secret.write_text('<urn:x:s> <urn:x:p> "TOP-SECRET" .\n', encoding="utf-8")
    foreign = error_text(mcp.call("run_sparql", {
        "query": f"SELECT * FROM <{secret.as_uri()}> WHERE {{ ?s ?p ?o }}"}))
    assert "FROM" in foreign and "TOP-SECRET" not in foreign
    assert "graph" in error_text(mcp.call("run_sparql", {"query": "ASK {}", "graph": "x"}))


def test_pathological_query_ends_at_the_time_limit(mcp: Session) -> None:
    cross = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"
    quick = "ASK { ?s ?p ?o }"

    async def timed(query: str) -> tuple[object, float]:
        started = time.monotonic()
        result = await mcp.client.call_tool("run_sparql", {"query": query})
        return result, time.monotonic() - started

    async def both() -> list[tuple[object, float]]:
        slow = asyncio.ensure_future(timed(cross))
        await asyncio.sleep(0.5)  # the cross product is running when the quick query comes
        return [await timed(quick), await slow]

    (fast, fast_took), (slow, took) = mcp.run(both())
    message = error_text(slow)
    assert "query" in message and "time limit" in message
    assert TIME_LIMIT - 0.5 <= took < TIME_LIMIT + 8
    # one slow query does not hold the others up
    assert ok(fast)["results"]["boolean"] is True and fast_took < TIME_LIMIT - 1
    # the server goes on answering: the killed executor was replaced
    assert ok(mcp.call("search_terms", {"query": "IL6"}))["results"]


def test_examples_list_and_run(mcp: Session) -> None:
    listed = ok(mcp.call("list_examples", {"keyword": "IL-23"}))["examples"]
    ids = {e["id"] for e in listed}
    assert "101-il23-il17-axis-drugs" in ids
    assert all(e["question"] and e["query"] is None for e in listed)
    everything = ok(mcp.call("list_examples", {}))["examples"]
    assert len(everything) > len(listed)
    ran = ok(mcp.call("run_example", {"id": "101-il23-il17-axis-drugs"}))
    assert ran["example"]["query"] and ran["answer"]["form"] == "bindings"
    got = {tuple(row[v]["value"].replace(CYTOKG, "cytokg:") for v in ("drug", "cytokine"))
           for row in ran["answer"]["results"]["results"]["bindings"]}
    expected_file = REPO / "queries" / "101-il23-il17-axis-drugs.expected.tsv"
    expected = {tuple(line.split("\t")) for line in
                expected_file.read_text(encoding="utf-8").splitlines()[1:] if line}
    assert got == expected
    assert "id" in error_text(mcp.call("run_example", {"id": "no-such-example"}))


def test_explain_an_inferred_statement_down_to_sources(mcp: Session) -> None:
    found = ok(mcp.call("explain", {"subject": "Tocilizumab", "predicate": "cytokg:actsOn",
                                    "object": "cytokg:IL6"}))
    assert found["found"] and found["derivation"]["status"] == "inferred"
    assert found["derivation"]["rule"] and found["derivation"]["premises"]

    def leaves(step: dict) -> list[dict]:
        if step["premises"] or step["repeated"]:
            return [leaf for p in step["premises"] for leaf in leaves(p)]
        return [step]

    bottom = leaves(found["derivation"])
    assert bottom and all(s["status"] == "asserted" and s["sources"] for s in bottom)
    asserted = ok(mcp.call("explain", {"subject": "IL6", "predicate": "bindsReceptor",
                                       "object": "IL6ReceptorComplex"}))["derivation"]
    assert asserted["status"] == "asserted" and asserted["sources"] and not asserted["premises"]
    label = ok(mcp.call("explain", {"subject": "cytokg:IL6", "predicate": "rdfs:label",
                                    "object": "interleukin 6"}))  # a bare literal
    assert label["found"] and label["derivation"]["triple"][2] == '"interleukin 6"@en'
    absent = ok(mcp.call("explain", {"subject": "IL6", "predicate": "actsOn",
                                     "object": "TNF"}))
    assert absent["found"] is False and absent["derivation"]["status"] == "absent"
    assert "subject" in error_text(mcp.call("explain", {"subject": "nope:IL6",
                                                        "predicate": "a", "object": "x"}))
    assert "predicate" in error_text(mcp.call("explain", {"subject": "IL6", "predicate": "",
                                                          "object": "x"}))


def test_find_pairs_human_and_mouse(mcp: Session) -> None:
    human = ok(mcp.call("find_pairs", {"gene": "IL6"}))
    pairs = {(p["ligand"]["term"], p["receptor"]["term"]): p for p in human["pairs"]}
    il6 = pairs[("cytokg:IL6", "cytokg:IL6ReceptorComplex")]
    assert il6["interaction"] == "signalling" and il6["sources"]
    assert {g["symbol"] for g in il6["receptor"]["genes"]} == {"IL6R", "IL6ST"}
    assert all(p["sources"] for p in human["pairs"])
    mouse = ok(mcp.call("find_pairs", {"gene": "Il6", "species": "mouse"}))
    genes = {g["symbol"] for p in mouse["pairs"] for g in p["ligand"]["genes"]}
    assert "Il6" in genes and all(g["gene_id"].startswith("MGI:") for p in mouse["pairs"]
                                  for g in p["ligand"]["genes"] + p["receptor"]["genes"])
    assert "species" in error_text(mcp.call("find_pairs", {"gene": "IL6", "species": "cat"}))
    assert "gene" in error_text(mcp.call("find_pairs", {"gene": "zzqqx"}))


def test_find_drugs_on_a_cytokine_and_a_chain(mcp: Session) -> None:
    il6 = ok(mcp.call("find_drugs", {"term": "cytokg:IL6"}))
    routes = {(a["drug"]["curie"], a["route"], a["target"]["curie"]) for a in il6["actions"]}
    assert ("cytokg:Siltuximab", "direct", "cytokg:IL6") in routes
    assert ("cytokg:Tocilizumab", "receptor", "cytokg:IL6R") in routes
    assert all(a["target_sources"] for a in il6["actions"])
    chain = ok(mcp.call("find_drugs", {"term": "IL12B"}))
    assert {a["drug"]["curie"] for a in chain["actions"]} == {"cytokg:Ustekinumab"}
    with_kinases = ok(mcp.call("find_drugs", {"term": "IL6", "include_kinase_inhibitors": True}))
    assert any(a["route"] == "kinase" for a in with_kinases["actions"])
    assert not any(a["route"] == "kinase" for a in il6["actions"])
    assert "term" in error_text(mcp.call("find_drugs", {"term": ""}))
    assert "approved_only" in error_text(mcp.call("find_drugs", {"term": "IL6",
                                                                 "approved_only": "maybe"}))


def test_resources(mcp: Session) -> None:
    listed = {str(r.uri) for r in mcp.run(mcp.client.list_resources()).resources}
    assert {"cytokg://void", "cytokg://ontology", "cytokg://examples"} <= listed
    void = mcp.run(mcp.client.read_resource("cytokg://void")).contents[0].text
    assert "void:Dataset" in void
    ontology = json.loads(mcp.run(mcp.client.read_resource("cytokg://ontology")).contents[0].text)
    terms = {t["curie"]: t for t in ontology["terms"]}
    assert terms["cytokg:actsOn"]["definition"] and terms["cytokg:actsOn"]["kind"] == \
        "object property"
    assert terms["cytokg:Cytokine"]["kind"] == "class" and ontology["prefixes"]["cytokg"] == CYTOKG
    examples = json.loads(mcp.run(mcp.client.read_resource("cytokg://examples")).contents[0].text)
    assert any(e["id"] == "101-il23-il17-axis-drugs" and "actsOn" in e["query"] for e in examples)
    one = mcp.run(mcp.client.read_resource("cytokg://examples/101-il23-il17-axis-drugs"))
    assert "SELECT" in one.contents[0].text


def test_prompt(mcp: Session) -> None:
    prompts = mcp.run(mcp.client.list_prompts()).prompts
    assert [p.name for p in prompts] == ["answer_with_citations"]
    got = mcp.run(mcp.client.get_prompt("answer_with_citations",
                                        {"question": "Which cells make IL-22?"}))
    text = got.messages[0].content.text
    assert "Which cells make IL-22?" in text and "search_terms" in text and "PMID" in text
