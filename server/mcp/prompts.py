"""The prompt template: answer a cytokine question from cytokg, citing every statement."""

from __future__ import annotations

from typing import Annotated

from mcp.server import MCPServer
from pydantic import Field

from .resources import EXAMPLES_URI, ONTOLOGY_URI

GUIDE = """Answer the question below from the Cytokine Knowledge Graph (cytokg) only, with a \
citation for every statement.

How to work:
1. Find the terms: call search_terms for each cytokine, gene, cell, disease or drug named in the \
question and use the CURIEs it returns; never guess an IRI.
2. Read what the graph says: describe_term gives a term's relations in both directions with \
their sources. For drugs call find_drugs (it gives the chain or receptor each drug binds, its \
mechanism and its approval year); for ligand-receptor pairs call find_pairs.
3. For anything else, look for a close example with list_examples (run it with run_example), \
read {ontology} for classes and properties, and adapt the example in run_sparql.
4. A statement marked inferred has no source of its own: call explain on it and cite the \
sources of the asserted statements it rests on.

How to answer:
- State only what the tools returned; if the graph does not say something, say so rather than \
filling the gap from memory.
- After each statement, cite its sources as the tools give them: the source label, and \
"PMID nnn" or the DOI where the source has one. Say which statements were inferred.
- If a query was truncated or hit the time limit, say that the answer may be incomplete.

Question: {question}"""


def register(mcp: MCPServer) -> None:
    """Add the prompt template to the server."""

    @mcp.prompt(name="answer_with_citations",
                title="Answer a cytokine question with citations from cytokg",
                description="Instructions for answering a question about cytokines, their "
                            "receptors, cells, signalling, diseases or drugs from cytokg, "
                            "citing the graph's sources for every statement.")
    def answer_with_citations(
        question: Annotated[str, Field(description="the question to answer")],
    ) -> str:
        return GUIDE.format(question=question.strip(), ontology=ONTOLOGY_URI,
                            examples=EXAMPLES_URI)
