"""The published example questions: the release's SIB-style ``examples.ttl``, else ``queries/``.

``examples.ttl`` holds one ``sh:SPARQLExecutable`` per question (SIB sparql-examples form):
its question as ``rdfs:comment``, its query as ``sh:select``/``sh:ask``/``sh:construct``/
``spex:describe`` and its topics as ``schema:keywords``, named ``BASE/examples/<stem>``. Until a
release ships one, the competency questions of the queries folder (``NN-name.rq`` with their
``# Question:`` and ``# Topic:`` header lines) are offered under the same names.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

EXAMPLES_FILE = "examples.ttl"
SH = "http://www.w3.org/ns/shacl#"
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
COMMENT = "http://www.w3.org/2000/01/rdf-schema#comment"
KEYWORDS = ("https://schema.org/keywords", "http://schema.org/keywords")
SPEX = "https://purl.expasy.org/sparql-examples/ontology#"  # SIB's describe (SHACL has none)
FORMS = {SH + "select": "select", SH + "ask": "ask", SH + "construct": "construct",
         SPEX + "describe": "describe", SH + "describe": "describe"}
QUESTION = re.compile(r"^#\s*Question:\s*(.+?)\s*$", re.MULTILINE)
TOPIC = re.compile(r"^#\s*Topic:\s*(.+?)\s*$", re.MULTILINE)
FORM_WORD = re.compile(r"\b(SELECT|ASK|CONSTRUCT|DESCRIBE)\b", re.IGNORECASE)


@dataclass(frozen=True)
class Example:
    """One example question with its query, named by its query file's stem."""

    id: str
    iri: str
    question: str
    query: str
    form: str
    keywords: tuple[str, ...] = ()

    @property
    def order(self) -> tuple[int, str]:
        """Sort key: the number before the first hyphen, numerically (``9`` before ``10``)."""
        head = self.id.split("-", 1)[0]
        return (int(head) if head.isdigit() else 10**9, self.id)


def load_examples(release: Path, queries_dir: Path, base: str) -> list[Example]:
    """The release's examples.ttl if it has one, else the competency questions of queries_dir."""
    path = release / EXAMPLES_FILE
    found = read_examples_ttl(path, base) if path.is_file() else read_queries(queries_dir, base)
    return sorted(found, key=lambda e: e.order)


def read_examples_ttl(path: Path, base: str) -> list[Example]:
    """Every sh:SPARQLExecutable of an examples.ttl with an English question and a query."""
    import pyoxigraph as ox

    subjects: dict[str, dict[str, list[ox.Literal]]] = {}
    executables: set[str] = set()
    for triple in ox.parse(path=str(path), format=ox.RdfFormat.TURTLE):
        s, p, o = triple.subject, triple.predicate.value, triple.object
        if not isinstance(s, ox.NamedNode):
            continue
        if p == RDF_TYPE and isinstance(o, ox.NamedNode) and o.value == SH + "SPARQLExecutable":
            executables.add(s.value)
        elif isinstance(o, ox.Literal):
            subjects.setdefault(s.value, {}).setdefault(p, []).append(o)
    examples = []
    for iri in sorted(executables):
        values = subjects.get(iri, {})
        comments = values.get(COMMENT, [])
        question = next((c.value for c in comments if (c.language or "").startswith("en")),
                        comments[0].value if comments else "")
        form_query = next(((form, values[p][0].value) for p, form in FORMS.items()
                           if p in values), None)
        if not question or form_query is None:
            continue
        keywords = sorted({k.value for p in KEYWORDS for k in values.get(p, [])})
        stem = iri.removeprefix(base + "examples/") if iri.startswith(base + "examples/") \
            else iri.rstrip("/").rsplit("/", 1)[-1]
        examples.append(Example(stem, iri, question, form_query[1], form_query[0],
                                tuple(keywords)))
    return examples


def read_queries(folder: Path, base: str) -> list[Example]:
    """Every ``NN-name.rq`` of the queries folder that states its question in a header line."""
    examples = []
    if folder.is_dir():
        for path in sorted(folder.glob("*.rq")):
            text = path.read_text(encoding="utf-8")
            question = QUESTION.search(text)
            if question is None:
                continue
            topic = TOPIC.search(text)
            body = "\n".join(line for line in text.splitlines() if not line.startswith("#"))
            form = FORM_WORD.search(body)
            examples.append(Example(path.stem, f"{base}examples/{path.stem}", question.group(1),
                                    text, form.group(1).lower() if form else "select",
                                    (topic.group(1),) if topic else ()))
    return examples
