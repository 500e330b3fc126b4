"""The tools: each one's name, precise description, input schema and structured output.

Every tool is read-only and closed-world; its queries run in the endpoint's executor pool, so
a bad argument or a query past the limits comes back as a tool error (``isError``) whose
message names the parameter, never as a crash of the server.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Annotated, Literal, ParamSpec, TypeVar

from mcp.server import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import ToolAnnotations
from pydantic import Field

from . import lookups, models
from .examples import Example
from .lookups import BadArgument
from .runtime import QueryFailed, Runtime

P = ParamSpec("P")
R = TypeVar("R")
READ_ONLY = ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True,
                            open_world_hint=False)

TermArg = Annotated[str, Field(
    description="the term: a label, synonym or symbol ('IL-23', 'interleukin 6', 'IL12B'), a "
                "CURIE (cytokg:IL6, HGNC:6018) or a full IRI; search_terms finds it if unsure",
    max_length=2_000)]


def tool_errors(fn: Callable[P, R]) -> Callable[P, R]:
    """Turn a bad argument or a failed query into a tool error with its message."""

    @wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except (BadArgument, QueryFailed) as exc:
            raise ToolError(str(exc)) from None

    return wrapper


def register(mcp: MCPServer, rt: Runtime) -> None:
    """Add the tools, bound to the loaded release, to the server."""
    limits = (f"Queries run read-only in killable processes: at most {rt.settings.time_limit:g} s "
              f"and {rt.settings.row_limit} rows per answer (truncated beyond, with "
              "truncated=true); SERVICE, updates and foreign FROM graphs are refused.")

    @mcp.tool(annotations=READ_ONLY, title="Search cytokg terms")
    @tool_errors
    def search_terms(
        query: Annotated[str, Field(
            description="a name, synonym, abbreviation, gene symbol or identifier (HGNC:6018, "
                        "P05231, CL:0000235); case, spaces and hyphens are ignored",
            max_length=200)],
        limit: Annotated[int, Field(description="how many terms to return (1-100)", ge=1,
                                    le=100)] = 10,
    ) -> models.SearchResult:
        """Find the cytokg terms (cytokines, receptors, genes, cells, diseases, drugs, classes,
        properties) matching a name, synonym, symbol or database identifier, best first:
        exact label, then exact synonym or identifier, then prefix, then substring. Each result
        gives the IRI and CURIE to use in the other tools and in SPARQL, the label, its asserted
        classes and what matched. Use this first instead of guessing IRIs."""
        return lookups.search(rt, query, limit)

    @mcp.tool(annotations=READ_ONLY, title="Describe a cytokg term")
    @tool_errors
    def describe_term(term: TermArg) -> models.TermDescription:
        """Everything the graph states about one term: labels, synonyms, symbols, definitions,
        classes (asserted and inferred), database identifiers, mappings to other ontologies,
        and its relations in both directions (outgoing: the term is the subject; incoming: the
        object), each marked inferred or asserted and with its sources (article sections,
        publications with PMID/DOI, database records). An inferred relation has no source of
        its own: call explain on it to see the asserted, sourced statements it follows from."""
        return lookups.describe(rt, term)

    @mcp.tool(annotations=READ_ONLY, title="Run a SPARQL query", description=(
        "Run a read-only SPARQL query over the cytokg release. SELECT and ASK answers come as "
        "a SPARQL 1.1 Query Results JSON document; CONSTRUCT and DESCRIBE as Turtle. The "
        "statements' sources are axiom annotations: ?ax owl:annotatedSource ?s ; "
        "owl:annotatedProperty ?p ; owl:annotatedTarget ?o ; dcterms:source ?src, and a "
        "source's PMID is cytokg:pmid. " + limits))
    @tool_errors
    def run_sparql(
        query: Annotated[str, Field(
            description="a SPARQL 1.1 SELECT, ASK, CONSTRUCT or DESCRIBE query; prefixes must "
                        "be declared (cytokg: <https://w3id.org/cytokg/>); read the "
                        "cytokg://ontology resource for classes and properties")],
        graph: Annotated[Literal["full", "asserted", "inferred"], Field(
            description="default graph: full (asserted and inferred, the default), asserted "
                        "(the sourced statements only) or inferred (the reasoner's additions)"
        )] = "full",
    ) -> models.SparqlResult:
        """Run a read-only SPARQL query (the description above states the limits)."""
        return lookups.sparql(rt, query, graph)

    @mcp.tool(annotations=READ_ONLY, title="List example questions")
    @tool_errors
    def list_examples(
        keyword: Annotated[str | None, Field(
            description="only examples whose question, id or keywords contain this text "
                        "(case-insensitive), e.g. 'drugs', 'signalling', 'IL-6'",
            max_length=200)] = None,
        include_queries: Annotated[bool, Field(
            description="also return each example's SPARQL text")] = False,
    ) -> models.ExampleList:
        """List the published example questions of cytokg (competency questions with their
        SPARQL), each with an id for run_example. Their queries show the right IRIs and
        property paths for a topic; adapt them in run_sparql rather than writing SPARQL
        blind."""
        wanted = (keyword or "").casefold().strip()
        chosen = [e for e in rt.examples if not wanted or wanted in e.question.casefold()
                  or wanted in e.id.casefold() or any(wanted in k.casefold() for k in e.keywords)]
        return models.ExampleList(examples=[example_info(e, include_queries) for e in chosen])

    @mcp.tool(annotations=READ_ONLY, title="Run an example question")
    @tool_errors
    def run_example(
        id: Annotated[str, Field(description="the example's id from list_examples, e.g. "
                                             "'101-il23-il17-axis-drugs'", max_length=300)],
    ) -> models.ExampleResult:
        """Run one published example question and return the question, its SPARQL and its
        answer (as run_sparql returns it)."""
        example = next((e for e in rt.examples if e.id == id.strip()), None)
        if example is None:
            near = [e.id for e in rt.examples if id.strip().casefold() in e.id.casefold()][:5]
            hint = f"; did you mean {', '.join(near)}?" if near else "; see list_examples"
            raise BadArgument(f"id: no example has the id {id!r}{hint}")
        answer = lookups.sparql(rt, example.query, "full", "id")
        return models.ExampleResult(example=example_info(example, True), answer=answer)

    @mcp.tool(annotations=READ_ONLY, title="Explain a statement")
    @tool_errors
    def explain(
        subject: Annotated[str, Field(description="a CURIE (cytokg:Ustekinumab), a bare local "
                                                  "name of ours (Ustekinumab) or an IRI")],
        predicate: Annotated[str, Field(description="a CURIE (cytokg:actsOn), a local name, an "
                                                    "IRI, or 'a' for rdf:type")],
        object: Annotated[str, Field(description="a CURIE, a local name, an IRI or a literal "
                                                 "(quoted, \"2009\", or bare)")],
    ) -> models.Explanation:
        """Why the graph holds a statement: for an inferred one, the OWL 2 RL rule and schema
        axiom that produced it and its premises, each explained in turn down to asserted
        statements with their sources (PMIDs, database records); for an asserted one, its
        sources; found=false if the graph does not hold it."""
        return lookups.explain(rt, subject, predicate, object)

    @mcp.tool(annotations=READ_ONLY, title="Find ligand-receptor pairs")
    @tool_errors
    def find_pairs(
        gene: Annotated[str, Field(
            description="a gene symbol (IL6, Il6), a cytokine or receptor term (cytokg:IL6, "
                        "cytokg:IL6ReceptorComplex) or its name", max_length=2_000)],
        species: Annotated[Literal["human", "mouse"], Field(
            description="whose genes: human (HGNC) or mouse (MGI, only where every gene of a "
                        "pair has a one-to-one orthologue)")] = "human",
    ) -> models.PairsResult:
        """The ligand-receptor pairs in which a gene takes part (as ligand or receptor, alone
        or as a chain of a complex), as the LIANA/CellPhoneDB exports give them: each pair's
        ligand and receptor with their genes (symbol, HGNC or MGI id, UniProt), whether the
        receptor signals or is a decoy, and the sources of the binding with their PMIDs."""
        return lookups.pairs(rt, gene, species)

    @mcp.tool(annotations=READ_ONLY, title="Find drugs acting on a term")
    @tool_errors
    def find_drugs(
        term: TermArg,
        approved_only: Annotated[bool, Field(
            description="only drugs with a first approval year (FDA or EMA)")] = False,
        include_kinase_inhibitors: Annotated[bool, Field(
            description="also list drugs that inhibit a kinase bound by a receptor chain the "
                        "cytokine uses (route 'kinase'); the graph does not say these act on "
                        "the cytokine, since a receptor is not always silenced by them")] = False,
    ) -> models.DrugsResult:
        """Drugs acting on a cytokine, a cytokine chain, a receptor chain or complex, or a
        kinase, and how: the molecule each drug binds (its asserted target, with sources), the
        route (direct: binds the term; chain: binds a chain of it, e.g. the p19 or p40 chain of
        IL-23; receptor: binds a chain of a receptor complex the cytokine signals through;
        kinase: see include_kinase_inhibitors), its mechanism and modality, and its first
        approval year, each with its sources."""
        return lookups.drugs(rt, term, approved_only, include_kinase_inhibitors)


def example_info(example: Example, with_query: bool) -> models.ExampleInfo:
    """An example as the tools show it."""
    return models.ExampleInfo(id=example.id, iri=example.iri, question=example.question,
                              form=example.form, keywords=list(example.keywords),
                              query=example.query if with_query else None)
