"""The structured answers of the tools: pydantic models, so each tool publishes an output schema."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field


class Ref(BaseModel):
    """A term of the graph: its IRI, CURIE and label."""

    iri: str
    curie: str
    label: str


class Citation(BaseModel):
    """A source of a statement: a Source individual, with its PMID and DOI where verified."""

    iri: str
    label: str
    pmid: str | None = None
    doi: str | None = None


class Value(BaseModel):
    """The object (or subject) of a statement: a term of the graph, or a literal."""

    kind: Literal["iri", "literal", "expression"]
    value: str = Field(description="the IRI, the literal's text, or a class expression")
    label: str
    curie: str | None = None
    datatype: str | None = None
    lang: str | None = None


class Relation(BaseModel):
    """One statement about the term, in the direction given, with how the graph knows it."""

    property: Ref
    value: Value = Field(description="the other end: the object (outgoing) or subject "
                                     "(incoming)")
    inferred: bool = Field(description="true if only the reasoner's closure holds it; ask "
                                       "the explain tool why")
    sources: list[Citation] = Field(description="sources annotated on an asserted statement")


class Hit(BaseModel):
    """One ranked term of a search."""

    iri: str
    curie: str
    label: str
    types: list[Ref] = Field(description="its asserted classes")
    matched: str = Field(description="the label, synonym or identifier that matched")
    field: Literal["label", "synonym", "identifier"]
    match: Literal["exact label", "exact synonym", "exact identifier", "prefix", "substring"]


class SearchResult(BaseModel):
    """Terms matching a search, best first."""

    query: str
    results: list[Hit]


class TermDescription(BaseModel):
    """Everything the graph says about one term, with sources."""

    iri: str
    curie: str
    label: str
    synonyms: list[str]
    symbols: list[str]
    definitions: list[str]
    kinds: list[str] = Field(description="for a class or property: class, object property ...")
    asserted_types: list[Ref]
    inferred_types: list[Ref]
    identifiers: list[Relation] = Field(description="database identifiers (HGNC, UniProt ...)")
    mappings: list[Relation] = Field(description="mappings to other ontologies and databases")
    outgoing: list[Relation] = Field(description="statements with the term as subject")
    incoming: list[Relation] = Field(description="statements with the term as object")
    incoming_truncated: bool
    sources: list[Citation] = Field(description="sources of the term itself")


class SparqlResult(BaseModel):
    """A query's answer, capped at the server's row limit."""

    form: Literal["bindings", "boolean", "graph"]
    results: dict[str, Any] | None = Field(
        None, description="SELECT/ASK: the SPARQL 1.1 Query Results JSON document")
    graph: str | None = Field(None, description="CONSTRUCT/DESCRIBE: the triples as Turtle")
    count: int = Field(description="rows (or triples) returned")
    truncated: bool = Field(description="true if the answer had more rows than row_limit")
    row_limit: int


class ExampleInfo(BaseModel):
    """A published example question."""

    id: str
    iri: str
    question: str
    form: str
    keywords: list[str]
    query: str | None = None


class ExampleList(BaseModel):
    """The example questions, in order."""

    examples: list[ExampleInfo]


class ExampleResult(BaseModel):
    """An example question run: the question, its query and the answer."""

    example: ExampleInfo
    answer: SparqlResult


class DerivationStep(BaseModel):
    """A triple of a derivation tree: how it holds and what it rests on."""

    triple: list[str] = Field(description="subject, predicate, object in N-Triples")
    text: str
    status: Literal["inferred", "entailed", "asserted", "absent"]
    rule: str | None = None
    axiom: list[str] = []
    sources: list[Citation] = []
    repeated: bool = Field(False, description="explained higher up in the same tree")
    premises: list[DerivationStep] = []


class Explanation(BaseModel):
    """Why the graph holds a triple, down to asserted statements and their sources."""

    found: bool
    derivation: DerivationStep


class Gene(BaseModel):
    """A gene of a ligand or receptor, in the species asked."""

    symbol: str
    term: str
    gene_id: str
    uniprot: str


class Participant(BaseModel):
    """A ligand or a receptor: one gene, or a complex of genes."""

    term: str
    label: str
    is_complex: bool
    genes: list[Gene]


class Pair(BaseModel):
    """A ligand binding a receptor, with the sources of the asserted binding."""

    ligand: Participant
    receptor: Participant
    interaction: Literal["signalling", "decoy"]
    sources: list[Citation]
    publications: list[str] = Field(description="PMID:/DOI: of the sources that name one")


class PairsResult(BaseModel):
    """The ligand-receptor pairs a gene takes part in."""

    gene: Ref
    species: Literal["human", "mouse"]
    pairs: list[Pair]
    not_in_species: list[str] = Field(
        description="for mouse: human pairs of the gene left out, and why")


class Statement(BaseModel):
    """A value with the sources of its asserted statement."""

    value: str
    label: str
    sources: list[Citation]


class DrugAction(BaseModel):
    """How one drug acts on the term asked about."""

    drug: Ref
    target: Ref = Field(description="the molecule the drug binds")
    target_property: str = Field(description="cytokg:targets or cytokg:targetsComplexSubunit")
    route: Literal["direct", "chain", "receptor", "kinase"] = Field(
        description="direct: binds the term itself; chain: binds a chain of it; receptor: "
                    "binds a chain of a receptor complex it signals through; kinase: inhibits "
                    "a kinase its receptor chains bind (the graph does not say 'acts on')")
    via: Ref | None = Field(None, description="the receptor complex (receptor) or kinase route")
    target_sources: list[Citation]
    mechanisms: list[Statement]
    modalities: list[Statement]
    first_approval_year: Statement | None = Field(
        None, description="set for an approved drug (FDA or EMA, whichever came first)")


class DrugsResult(BaseModel):
    """Drugs acting on a cytokine, a chain or a receptor, and how."""

    term: Ref
    approved_only: bool
    actions: list[DrugAction]
