"""Publish the competency questions of `queries/` as SPARQL examples in the SIB form.

The SIB Swiss Institute of Bioinformatics publishes the example queries of its endpoints
(UniProt, Rhea, Bgee, ...) as RDF: one `sh:SPARQLExecutable` per query, also typed by its query
form (`sh:SPARQLSelectExecutable`, ...), with the question as `rdfs:comment` (English), the
query text as `sh:select`/`sh:ask`/`sh:construct`, the endpoint as `schema:target`, tags as
`schema:keywords` and `sh:prefixes` naming an `owl:Ontology` whose `sh:declare` entries give
the prefixes (form read from github.com/sib-swiss/sparql-examples, README.md, examples/prefixes.ttl
and examples/*/*.ttl, and from the shapes its tools check, sib-swiss/sparql-examples-utils
src/main/resources/spex.shacl; our shapes are ontology/shapes/sparql-examples.ttl).

IRIs: each example is `<BASE>examples/<query-file-stem>`; the prefix declarations are
`<BASE>examples/prefixes`. The target is the endpoint's permanent IRI `<BASE>sparql`: a
release is built before any host is known, and like every IRI of our namespace it resolves
at the serving host's root (`/sparql`). The server keeps the examples in the named graph
`<BASE>sparql/.well-known/sparql-examples` (kg.store.GRAPH_EXAMPLES), which is `<endpoint>/
.well-known/sparql-examples` for the permanent endpoint IRI, and answers the same graph
under the URL a client addressed (`http://HOST:PORT/sparql/.well-known/sparql-examples`) by
aliasing that IRI in queries (server.sparql), so the graph name is always the one SIB tools
compute from the endpoint URL they call. The release carries the examples twice with the
same triples: `examples.ttl` (readable, triple-quoted queries) and `examples.nt` (canonical,
loaded into the store).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from rdflib import BNode, Literal, URIRef
from rdflib.namespace import OWL, RDF, RDFS, XSD

from kg.errors import BuildError
from kg.triples import Triple, nt_document, nt_lines
from kg.vocab import BASE

EXAMPLES_TTL = "examples.ttl"
EXAMPLES_NT = "examples.nt"
ENDPOINT = BASE + "sparql"
EXAMPLES = BASE + "examples/"
PREFIX_SET = EXAMPLES + "prefixes"
SH = "http://www.w3.org/ns/shacl#"
SCHEMA = "https://schema.org/"
SPEX = "https://purl.expasy.org/sparql-examples/ontology#"
#: Query form -> (class beside sh:SPARQLExecutable, property holding the query text).
FORMS: dict[str, tuple[str, str]] = {
    "SELECT": (SH + "SPARQLSelectExecutable", SH + "select"),
    "ASK": (SH + "SPARQLAskExecutable", SH + "ask"),
    "CONSTRUCT": (SH + "SPARQLConstructExecutable", SH + "construct"),
    "DESCRIBE": (SPEX + "SPARQLDescribeExecutable", SPEX + "describe"),
}
#: Prefixes written in examples.ttl (the query prefixes are declared in the data, not here).
TTL_PREFIXES = {"owl": str(OWL), "rdfs": str(RDFS), "schema": SCHEMA, "sh": SH, "xsd": str(XSD)}
MAX_TERM_KEYWORDS = 6

_HEADER = re.compile(r"^#\s*(Question|Topic|Reasoning):\s*(.+?)\s*$")
_PREFIX = re.compile(r"^\s*PREFIX\s+([A-Za-z][\w.-]*|):\s*<([^>]*)>", re.I | re.M)
#: Strings, IRIs and comments, blanked out before looking for keywords and prefixed names.
_OPAQUE = re.compile(r'"""[\s\S]*?"""|\'\'\'[\s\S]*?\'\'\'|"(?:[^"\\\n]|\\.)*"'
                     r"|'(?:[^'\\\n]|\\.)*'|<[^<>\"{}|^`\\\s]*>|#[^\n]*")
_FORM = re.compile(r"\b(SELECT|ASK|CONSTRUCT|DESCRIBE)\b", re.I)
_PREFIXED = re.compile(r"(?<![\w.:?$-])([A-Za-z][\w.-]*|)(?<!\.):(?=[\w%\\])")
_TERM = re.compile(r"(?<![\w.-])cytokg:([A-Za-z_][\w-]*)")
_FULL_TERM = re.compile(r"<" + re.escape(BASE) + r"([A-Za-z_][\w-]*)>")


@dataclass(frozen=True)
class Question:
    """One competency question file, read into what its example publishes."""

    stem: str
    question: str
    topic: str
    reasoning: bool
    form: str
    query: str  # the file without its header comment lines
    prefixes: dict[str, str]  # PREFIX declarations of the query

    @property
    def iri(self) -> str:
        """The example's IRI (the contract other tools read: BASE + examples/<stem>)."""
        return EXAMPLES + self.stem


def read_question(path: Path) -> Question:
    """Read a `queries/NN-name.rq` file; a missing header or unknown form names the file."""
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    fields: dict[str, str] = {}
    start = 0
    while start < len(lines) and lines[start].startswith("#"):  # the header comment
        if match := _HEADER.match(lines[start]):
            fields[match.group(1).lower()] = match.group(2)
        start += 1
    query = "\n".join(lines[start:]).strip() + "\n"
    if not fields.get("question"):
        raise BuildError(f"{path}: no '# Question: ...' header line")
    if not fields.get("topic"):
        raise BuildError(f"{path}: no '# Topic: ...' header line")
    body = _OPAQUE.sub(" ", query)
    form = next((m.group(1).upper() for m in _FORM.finditer(_PREFIX.sub(" ", body))), None)
    if form is None:
        raise BuildError(f"{path}: no SELECT, ASK, CONSTRUCT or DESCRIBE in the query")
    return Question(
        stem=path.stem, question=fields["question"], topic=fields["topic"],
        reasoning=fields.get("reasoning", "").lower() == "required", form=form, query=query,
        prefixes={m.group(1): m.group(2) for m in _PREFIX.finditer(query)},
    )


def used_prefixes(query: str) -> set[str]:
    """The prefixes of the prefixed names a query uses (outside strings, IRIs and comments)."""
    body = _PREFIX.sub(" ", _OPAQUE.sub(" ", query))
    return {m.group(1) for m in _PREFIXED.finditer(body)}


def keywords(question: Question, labels: Mapping[str, str]) -> list[str]:
    """Tags for an example: its topic, whether reasoning is needed, the terms it asks about.

    The terms are the labels of the classes, properties and individuals of our namespace the
    query names (in order of first mention, at most MAX_TERM_KEYWORDS), so a user finds the
    IL-6 questions under "interleukin-6".
    """
    found = [question.topic]
    if question.reasoning:
        found.append("OWL 2 RL reasoning")
    body = _OPAQUE.sub(lambda m: m.group() if m.group().startswith("<") else " ", question.query)
    names = [m.group(1) for m in _TERM.finditer(body)] + [m.group(1)
                                                          for m in _FULL_TERM.finditer(body)]
    terms = []
    for name in names:
        label = " ".join(labels.get(BASE + name, "").split())
        if len(label) > 1 and label not in terms and label not in found:
            terms.append(label)
    return found + terms[:MAX_TERM_KEYWORDS]


def declared_prefixes(questions: Iterable[Question]) -> dict[str, str]:
    """The prefixes the queries declare and use, each with one namespace across all queries."""
    declared: dict[str, tuple[str, str]] = {}
    problems = []
    for q in questions:
        for prefix in sorted(used_prefixes(q.query)):
            if prefix not in q.prefixes:
                problems.append(f"{q.stem}: prefix '{prefix}:' is used but not declared")
        for prefix, namespace in q.prefixes.items():
            seen = declared.setdefault(prefix, (namespace, q.stem))
            if seen[0] != namespace:
                problems.append(f"{q.stem}: prefix '{prefix}:' is <{namespace}> here but "
                                f"<{seen[0]}> in {seen[1]}")
    if problems:
        raise BuildError("the competency questions disagree on their prefixes", problems)
    return {prefix: ns for prefix, (ns, _) in sorted(declared.items())}


def prefix_node(prefix: str) -> BNode:
    """The declaration of one prefix, a blank node with a stable label (as SIB's files do)."""
    return BNode(f"sparql_examples_prefix_{prefix or 'default'}")


def example_triples(questions: list[Question], labels: Mapping[str, str]) -> list[Triple]:
    """The triples of the examples and of their prefix declarations."""
    prefix_set = URIRef(PREFIX_SET)
    triples: list[Triple] = [
        (prefix_set, RDF.type, OWL.Ontology),
        (prefix_set, RDFS.comment, Literal(
            "The prefixes used by the example queries of the Cytokine Knowledge Graph.",
            lang="en")),
    ]
    for prefix, namespace in declared_prefixes(questions).items():
        node = prefix_node(prefix)
        triples += [(prefix_set, URIRef(SH + "declare"), node),
                    (node, URIRef(SH + "prefix"), Literal(prefix)),
                    (node, URIRef(SH + "namespace"), Literal(namespace, datatype=XSD.anyURI))]
    for q in questions:
        example = URIRef(q.iri)
        kind, text_property = FORMS[q.form]
        triples += [(example, RDF.type, URIRef(SH + "SPARQLExecutable")),
                    (example, RDF.type, URIRef(kind)),
                    (example, RDFS.comment, Literal(q.question, lang="en")),
                    (example, URIRef(text_property), Literal(q.query)),
                    (example, URIRef(SH + "prefixes"), prefix_set),
                    (example, URIRef(SCHEMA + "target"), URIRef(ENDPOINT))]
        triples += [(example, URIRef(SCHEMA + "keywords"), Literal(k))
                    for k in keywords(q, labels)]
    return triples


def _long_string(text: str) -> str:
    """A Turtle long string (triple quotes) that keeps the query's lines readable."""
    return '"""' + text.replace("\\", "\\\\").replace('"', '\\"') + '"""'


def _string(text: str) -> str:
    """A Turtle short string."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def _name(iri: str) -> str:
    """An IRI as `sh:` prefixed name where it is SHACL's, else written in full."""
    return "sh:" + iri[len(SH):] if iri.startswith(SH) else f"<{iri}>"


def turtle(questions: list[Question], labels: Mapping[str, str]) -> bytes:
    """Write the examples as Turtle laid out as SIB's files are, one block per example."""
    out = [f"@prefix {p}: <{ns}> ." for p, ns in sorted(TTL_PREFIXES.items())]
    out += ["", "# The Cytokine Knowledge Graph's competency questions as SPARQL examples,",
            "# generated from queries/*.rq by kg/examples.py.", ""]
    declarations = declared_prefixes(questions)
    out.append(f"<{PREFIX_SET}> a owl:Ontology ;")
    out.append('  rdfs:comment "The prefixes used by the example queries of the Cytokine '
               'Knowledge Graph."@en' + (" ;" if declarations else " ."))
    decls = [f'  sh:declare [ sh:prefix {_string(p)} ; sh:namespace "{ns}"^^xsd:anyURI ]'
             for p, ns in declarations.items()]
    out += [line + (" ;" if i < len(decls) - 1 else " .") for i, line in enumerate(decls)]
    for q in questions:
        kind, text_property = FORMS[q.form]
        tags = ", ".join(_string(k) for k in keywords(q, labels))
        out += ["", f"<{q.iri}> a sh:SPARQLExecutable, {_name(kind)} ;",
                f"  rdfs:comment {_string(q.question)}@en ;",
                f"  sh:prefixes <{PREFIX_SET}> ;",
                f"  {_name(text_property)} {_long_string(q.query)} ;",
                f"  schema:keywords {tags} ;",
                f"  schema:target <{ENDPOINT}> ."]
    return ("\n".join(out) + "\n").encode("utf-8")


def read_questions(queries_dir: Path) -> list[Question]:
    """Every competency question of a queries folder, in file-name order."""
    return [read_question(path) for path in sorted(Path(queries_dir).glob("*.rq"))]


def english_labels(triples: Iterable[Triple]) -> dict[str, str]:
    """The label of each IRI for keywords: English (or untagged) rdfs:label, the least first."""
    labels: dict[str, str] = {}
    for s, p, o in triples:
        if p == RDFS.label and isinstance(o, Literal) and (o.language or "en").startswith("en"):
            current = labels.get(str(s))
            if current is None or str(o) < current:
                labels[str(s)] = str(o)
    return labels


def example_files(queries_dir: Path, triples: Iterable[Triple]) -> dict[str, bytes]:
    """Render `examples.ttl` and `examples.nt` for the release from the questions folder.

    `triples` (the asserted graph) give the labels used as keywords. A project without
    questions publishes no examples (and its release no examples graph).
    """
    questions = read_questions(queries_dir)
    if not questions:
        return {}
    labels = english_labels(triples)
    return {EXAMPLES_TTL: turtle(questions, labels),
            EXAMPLES_NT: nt_document(nt_lines(example_triples(questions, labels)))}
