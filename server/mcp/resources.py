"""The resources: what an assistant reads to write correct SPARQL without guessing IRIs.

The release's VoID description, our classes and properties with their definitions (and the
prefixes), and the example questions with their queries, whole and one by one.
"""

from __future__ import annotations

import json

from mcp.server import MCPServer
from mcp.server.mcpserver.exceptions import ResourceError

from kg.store import GRAPH_ASSERTED, GRAPH_INFERRED

from .runtime import Runtime

VOID_URI = "cytokg://void"
ONTOLOGY_URI = "cytokg://ontology"
EXAMPLES_URI = "cytokg://examples"


def register(mcp: MCPServer, rt: Runtime) -> None:
    """Add the resources, read from the loaded release, to the server."""
    ontology = json.dumps({
        "version": rt.version,
        "prefixes": dict(sorted((p, ns) for p, ns in rt.catalog.prefixes)),
        "graphs": {"asserted": GRAPH_ASSERTED, "inferred": GRAPH_INFERRED,
                   "note": "the default graph of a query is the union of all graphs"},
        "sources": ("Each asserted statement is annotated: ?ax owl:annotatedSource ?s ; "
                    "owl:annotatedProperty ?p ; owl:annotatedTarget ?o ; dcterms:source ?src. "
                    "A Source's label is rdfs:label, its PMID cytokg:pmid, its DOI cytokg:doi."),
        "terms": [{"curie": v.curie, "iri": v.iri, "kind": v.kind, "label": v.label,
                   "definition": v.definition, "parents": v.parents,
                   **({"inverse": v.inverse} if v.inverse else {})} for v in rt.vocabulary],
    }, indent=1, ensure_ascii=False)
    examples = json.dumps([{"id": e.id, "iri": e.iri, "question": e.question,
                            "keywords": list(e.keywords), "query": e.query}
                           for e in rt.examples], indent=1, ensure_ascii=False)
    by_id = {e.id: e for e in rt.examples}

    @mcp.resource(VOID_URI, name="void", title="VoID description of the release",
                  mime_type="text/turtle",
                  description="The release's VoID description (Turtle): version, licence, "
                              "graphs, triple counts, vocabularies and the sources' versions.")
    def void() -> str:
        return rt.void_ttl

    @mcp.resource(ONTOLOGY_URI, name="ontology", title="Classes and properties of cytokg",
                  mime_type="application/json",
                  description="Every class and property of the cytokg ontology with its CURIE, "
                              "IRI, kind, label, definition, parents and inverse, plus the "
                              "prefixes, graph names and how sources are attached: read it "
                              "before writing SPARQL.")
    def vocabulary() -> str:
        return ontology

    @mcp.resource(EXAMPLES_URI, name="examples", title="Example questions with their SPARQL",
                  mime_type="application/json",
                  description="The published example questions of cytokg with their SPARQL "
                              "queries and keywords (JSON list).")
    def all_examples() -> str:
        return examples

    @mcp.resource(EXAMPLES_URI + "/{id}", name="example", title="One example query",
                  mime_type="application/sparql-query",
                  description="The SPARQL text of one example question, by its id.")
    def one_example(id: str) -> str:
        example = by_id.get(id)
        if example is None:
            raise ResourceError(f"no example has the id {id!r}; read {EXAMPLES_URI}")
        return example.query
