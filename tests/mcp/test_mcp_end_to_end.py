"""An assistant's question answered by calling the tools in sequence, over both transports:
"which approved drugs act on the IL-23 axis, and on which chain?"

The expected answer, derived by hand from ontology/data: IL-23 is the p19 chain (IL23A) with the
p40 chain (IL12B) (the hasSubunit rows); therapeutics.tsv and drug-targets.tsv give four
antibodies binding p19 wherever it occurs (cytokg:targetsComplexSubunit IL23A: guselkumab,
tildrakizumab, risankizumab, mirikizumab) and one binding p40 (ustekinumab, IL12B); no drug in
the tables binds a chain of the IL-23 receptor (IL23R, IL12RB1). "Approved" is a first approval
year with a source: the drugs among these five that drug-indications.tsv gives one.
"""

from __future__ import annotations

import csv

from mcp_support import Session
from support import REPO

EXPECTED = {
    "cytokg:Guselkumab": "cytokg:IL23A",
    "cytokg:Mirikizumab": "cytokg:IL23A",
    "cytokg:Risankizumab": "cytokg:IL23A",
    "cytokg:Tildrakizumab": "cytokg:IL23A",
    "cytokg:Ustekinumab": "cytokg:IL12B",
}




def approved_in_tables() -> set[str]:
    """The drugs the source tables give a first approval year (the sourced ones only)."""
    path = REPO / "ontology" / "data" / "drug-indications.tsv"
    with path.open(encoding="utf-8", newline="") as table:
        return {"cytokg:" + row["subject"] for row in csv.DictReader(table, delimiter="\t")
                if row["property"] == "cytokg:firstApprovalYear" and row["source"].strip()}


def ok(result: object) -> dict:
    """The structured answer of a successful call."""
    assert not result.is_error, result.content[0].text
    return result.structured_content


def test_approved_drugs_on_the_il23_axis_and_their_chains(mcp: Session) -> None:
    # 1. find the term for "IL-23" rather than guessing its IRI
    il23 = ok(mcp.call("search_terms", {"query": "IL-23", "limit": 5}))["results"][0]
    assert il23["curie"] == "cytokg:IL23"

    # 2. its chains, each an asserted statement with a source
    term = ok(mcp.call("describe_term", {"term": il23["curie"]}))
    chains = {r["value"]["curie"]: r for r in term["outgoing"]
              if r["property"]["curie"] == "cytokg:hasSubunit"}
    assert set(chains) == {"cytokg:IL23A", "cytokg:IL12B"}
    assert all(not r["inferred"] and r["sources"] for r in chains.values())

    # 3. the drugs acting on it, with the chain each binds; then the approved ones
    every = ok(mcp.call("find_drugs", {"term": il23["curie"]}))
    assert {a["drug"]["curie"]: a["target"]["curie"] for a in every["actions"]} == EXPECTED
    assert len(every["actions"]) == len(EXPECTED)  # one route per drug: through its chain
    drugs = ok(mcp.call("find_drugs", {"term": il23["curie"], "approved_only": True}))
    answer = {a["drug"]["curie"]: a["target"]["curie"] for a in drugs["actions"]}
    approved = {d: chain for d, chain in EXPECTED.items() if d in approved_in_tables()}
    assert answer == approved and answer
    for action in drugs["actions"]:
        assert action["route"] == "chain" and action["target"]["curie"] in chains
        assert action["target_property"] == "cytokg:targetsComplexSubunit"
        # every statement of the answer carries a source
        assert action["target_sources"], action["drug"]["curie"]
        assert action["first_approval_year"]["sources"], action["drug"]["curie"]
        assert int(action["first_approval_year"]["value"]) > 1990
        assert action["mechanisms"] and all(m["sources"] for m in action["mechanisms"])
        assert all(s["label"] for s in action["target_sources"])

    # 4. "acts on IL-23" is inferred: its derivation rests on sourced, asserted statements
    for drug in EXPECTED:
        why = ok(mcp.call("explain", {"subject": drug, "predicate": "cytokg:actsOn",
                                      "object": "cytokg:IL23"}))
        assert why["found"] and why["derivation"]["status"] == "inferred"
        stack, asserted = [why["derivation"]], []
        while stack:
            step = stack.pop()
            stack.extend(step["premises"])
            if step["status"] == "asserted":
                asserted.append(step)
        assert asserted and all(s["sources"] for s in asserted), drug
        texts = {s["text"] for s in asserted}
        assert f"{drug} cytokg:targetsComplexSubunit {EXPECTED[drug]}" in texts
