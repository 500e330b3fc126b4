"""Read a release's derivations and explain a triple, down to asserted facts and their sources.

The build (kg.derive) stores one derivation step per inferred triple in `derivations.jsonl`; this
module only reads that file and the release's prefixes, with the standard library alone, so
that both `cytokg explain` and the server (which must never reason) can use it cheaply.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from kg.layout import DERIVATIONS

ASSERTED_FILE = "cytokg-asserted.nt"
CONTEXT_FILE = "context.jsonld"
BASE = "https://w3id.org/cytokg/"
RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
OWL = "http://www.w3.org/2002/07/owl#"
XSD = "http://www.w3.org/2001/XMLSchema#"
STANDARD_PREFIXES = {
    "rdf": RDF,
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
    "owl": OWL,
    "xsd": XSD,
    "skos": "http://www.w3.org/2004/02/skos/core#",
    "dcterms": "http://purl.org/dc/terms/",
    "cytokg": BASE,
}
ANNOTATION = {f"<{OWL}annotatedSource>": 0, f"<{OWL}annotatedProperty>": 1,
              f"<{OWL}annotatedTarget>": 2}
DCTERMS_SOURCE = "<http://purl.org/dc/terms/source>"
SOURCE_FIELDS = {"<http://www.w3.org/2000/01/rdf-schema#label>": "label",
                 f"<{BASE}pmid>": "pmid", f"<{BASE}doi>": "doi"}
# Properties whose triples on a blank node define a class expression (shown as the expression).
DEFINING = {f"<{OWL}{name}>" for name in ("onProperty", "hasValue", "someValuesFrom",
                                           "allValuesFrom", "intersectionOf", "unionOf", "oneOf")}
MAX_NODES = 2_000  # a tree larger than this is cut (a derivation of our graph has a few dozen)

TripleKey = tuple[str, str, str]


@dataclass(frozen=True)
class Step:
    """One stored derivation step."""

    triple: TripleKey
    level: int
    rule: str
    axiom: tuple[TripleKey, ...]
    premises: tuple[TripleKey, ...]
    released: bool


@dataclass
class Node:
    """A triple of a derivation tree: how it holds and what it rests on."""

    triple: TripleKey
    status: str  # inferred, entailed (a step not in the released graph), asserted, absent
    rule: str | None = None
    level: int = 0
    axiom: list[TripleKey] = field(default_factory=list)
    premises: list[Node] = field(default_factory=list)
    sources: list[dict[str, str]] = field(default_factory=list)
    repeated: bool = False  # explained higher up in the same tree

    def as_dict(self, explainer: Explainer) -> dict:
        """The node as plain JSON data, with the triple and axiom also in readable text."""
        data: dict = {"triple": list(self.triple), "text": explainer.text(self.triple),
                      "status": self.status}
        if self.rule:
            data.update(rule=self.rule, level=self.level,
                        axiom=explainer.axiom_texts(self.axiom))
        if self.sources:
            data["sources"] = self.sources
        if self.repeated:
            data["repeated"] = True
        elif self.premises:
            data["premises"] = [p.as_dict(explainer) for p in self.premises]
        return data


class Explainer:
    """The derivations of one release, indexed by triple, with the prefixes to show them."""

    def __init__(self, steps: dict[TripleKey, Step], expressions: dict[str, dict],
                 sources: dict[TripleKey, list[str]], source_info: dict[str, dict],
                 prefixes: dict[str, str]) -> None:
        self.steps = steps
        self.expressions = expressions
        self.sources = sources
        self.source_info = source_info
        self.prefixes = dict(prefixes)
        self._by_namespace = sorted(((ns, p) for p, ns in self.prefixes.items()),
                                    key=lambda pair: -len(pair[0]))

    @classmethod
    def load(cls, release: Path) -> Explainer:
        """Read `derivations.jsonl` and the prefixes of `context.jsonld` from a release."""
        steps: dict[TripleKey, Step] = {}
        expressions: dict[str, dict] = {}
        sources: dict[TripleKey, list[str]] = {}
        source_info: dict[str, dict] = {}
        file_prefixes: dict[str, str] = {}

        def term(text: str) -> str:
            """Expand a CURIE of the file (a term that starts with a letter) to N-Triples."""
            if text[:1].isalpha():
                prefix, _, local = text.partition(":")
                return f"<{file_prefixes[prefix]}{local}>"
            return text

        def key(triple: list[str]) -> TripleKey:
            return (term(triple[0]), term(triple[1]), term(triple[2]))

        with (release / DERIVATIONS).open(encoding="utf-8") as lines:
            for line in lines:
                record = json.loads(line)
                kind = record["kind"]
                if kind == "step":
                    t = key(record["triple"])
                    steps[t] = Step(t, record["level"], record["rule"],
                                    tuple(map(key, record["axiom"])),
                                    tuple(map(key, record["premises"])), record["released"])
                elif kind == "prefixes":
                    file_prefixes = record["prefixes"]
                elif kind == "expression":
                    if record["op"] != "node":
                        record["args"] = [term(a) for a in record["args"]]
                    expressions[record["id"]] = record
                elif kind == "sources":
                    sources[key(record["triple"])] = [term(s) for s in record["sources"]]
                elif kind == "source":
                    source_info[term(record["source"])] = record
        return cls(steps, expressions, sources, source_info, read_prefixes(release))

    # ------------------------------------------------------------------ trees

    def is_inferred(self, triple: TripleKey) -> bool:
        """Whether the release's inferred graph holds the triple (so it has a derivation)."""
        step = self.steps.get(triple)
        return step is not None and step.released

    def tree(self, triple: TripleKey) -> Node:
        """The derivation of a triple, each premise explained in turn down to asserted ones."""
        seen: set[TripleKey] = set()
        budget = [MAX_NODES]

        def build(t: TripleKey) -> Node:
            step = self.steps.get(t)
            if step is None:
                return Node(t, "asserted", sources=self.source_records(self.sources.get(t, [])))
            node = Node(t, "inferred" if step.released else "entailed", step.rule, step.level,
                        list(step.axiom))
            if t in seen or budget[0] <= 0:
                node.repeated = True
                return node
            seen.add(t)
            budget[0] -= 1
            # Asserted schema axioms are shown in the step's line; derived ones get their tree.
            children = [a for a in step.axiom if a in self.steps] + list(step.premises)
            node.premises = [build(c) for c in children]
            return node

        return build(triple)

    def source_records(self, iris: list[str]) -> list[dict[str, str]]:
        """Each source IRI with its label, PMID and DOI where the release has them."""
        records = []
        for iri in iris:
            info = self.source_info.get(iri, {})
            record = {"iri": iri[1:-1] if iri.startswith("<") else iri}
            record.update({k: info[k] for k in ("label", "pmid", "doi") if k in info})
            records.append(record)
        return records

    # ------------------------------------------------------------------ text

    def term(self, term: str) -> str:
        """A term as people read it: a CURIE, a literal, or a class expression."""
        if term.startswith("<"):
            return self.compact(term[1:-1])
        if term.startswith("_:"):
            return self.expression(term, 0)
        match = _DATATYPE.match(term)
        if match:
            return f"{match.group(1)}^^{self.compact(match.group(2))}"
        return term

    def compact(self, iri: str) -> str:
        """Abbreviate an IRI with the release's prefixes, else show it whole."""
        for ns, prefix in self._by_namespace:
            if iri.startswith(ns) and len(iri) > len(ns):
                return f"{prefix}:{iri[len(ns):]}"
        return f"<{iri}>"

    def expression(self, key: str, depth: int) -> str:
        """Render a class expression or list in a Manchester-like syntax."""
        expr = self.expressions.get(key)
        if expr is None or depth > 20:
            return "[...]"
        args = [self.expression(a, depth + 1) if a.startswith("_:") else self.term(a)
                for a in expr["args"]] if expr["op"] != "node" else expr["args"]
        op = expr["op"]
        if op in ("value", "some", "only") and len(args) == 2:
            return f"({args[0]} {op} {args[1]})"
        if op in ("and", "or"):
            return "(" + f" {op} ".join(args) + ")"
        if op == "oneOf":
            return "{" + ", ".join(args) + "}"
        if op == "list":
            return "(" + " ".join(args) + ")"
        return "[" + "; ".join(args) + "]"

    def text(self, triple: TripleKey) -> str:
        """A triple in readable text."""
        return " ".join(self.term(t) for t in triple)

    def axiom_texts(self, axiom: list[TripleKey] | tuple[TripleKey, ...]) -> list[str]:
        """The axiom of a step: a class expression once, other schema triples in full."""
        texts: list[str] = []
        for t in axiom:
            text = (self.term(t[0]) if t[0].startswith("_:") and t[1] in DEFINING
                    else self.text(t))
            if text not in texts:
                texts.append(text)
        return texts

    def render_text(self, node: Node) -> str:
        """The tree as indented plain text, one triple per line."""
        lines: list[str] = []

        def walk(n: Node, depth: int, bullet: str) -> None:
            pad = "    " * depth
            lines.append(f"{pad}{bullet}{self.text(n.triple)}")
            inner = pad + " " * len(bullet)
            if n.rule:
                how = "inferred" if n.status == "inferred" else "entailed (not in the release)"
                axiom = "; ".join(self.axiom_texts(n.axiom))
                lines.append(f"{inner}{how} by {n.rule}" + (f" from {axiom}" if axiom else "")
                             + (" (explained above)" if n.repeated else ""))
            else:
                lines.append(f"{inner}{n.status}" + source_text(n.sources))
            for child in n.premises:
                walk(child, depth + 1, "- ")

        walk(node, 0, "")
        return "\n".join(lines) + "\n"


def source_text(sources: list[dict[str, str]]) -> str:
    """The sources of an asserted triple in one line."""
    if not sources:
        return ""
    parts = []
    for s in sources:
        text = s.get("label") or s["iri"]
        extra = [f"PMID {s['pmid']}"] if "pmid" in s else []
        extra += [f"DOI {s['doi']}"] if "doi" in s else []
        parts.append(text + (f" ({', '.join(extra)})" if extra else "") + f" <{s['iri']}>")
    return "; source: " + "; ".join(parts)


_DATATYPE = re.compile(r'^(".*")\^\^<([^>]*)>$', re.S)
_LANG = re.compile(r'^(".*")@([A-Za-z0-9-]+)$', re.S)


def read_prefixes(release: Path) -> dict[str, str]:
    """The standard prefixes and those of the release's JSON-LD context."""
    prefixes = dict(STANDARD_PREFIXES)
    try:
        context = json.loads((release / CONTEXT_FILE).read_text(encoding="utf-8"))["@context"]
    except (OSError, ValueError, KeyError, TypeError):
        return prefixes
    if isinstance(context, dict):
        prefixes.update({k: v for k, v in context.items()
                         if isinstance(v, str) and "://" in v and not k.startswith("@")})
    return prefixes


# ---------------------------------------------------------------------- terms people type


def quote_literal(value: str, lang: str | None = None, datatype: str | None = None) -> str:
    """A literal in the N-Triples form the release uses (rdflib's escaping)."""
    text = '"' + (value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')
                  .replace("\r", "\\r")) + '"'
    if lang:
        return f"{text}@{lang}"
    if datatype and datatype != XSD + "string":
        return f"{text}^^<{datatype}>"
    return text


def parse_literal(text: str) -> tuple[str, str | None, str | None]:
    """The value, language and datatype of a literal written as in Turtle or N-Triples."""
    match = re.match(r'^"((?:[^"\\]|\\.)*)"(.*)$', text, re.S)
    if not match:
        raise ValueError(f"not a literal: {text}")
    escapes = {"n": "\n", "r": "\r", "t": "\t", '"': '"', "\\": "\\", "'": "'"}

    def unescape(m: re.Match) -> str:
        code = m.group(1)
        if code[0] in "uU":
            return chr(int(code[1:], 16))
        return escapes.get(code, code)

    value = re.sub(r"\\(u[0-9A-Fa-f]{4}|U[0-9A-Fa-f]{8}|.)", unescape, match.group(1))
    rest = match.group(2)
    if rest.startswith("@"):
        return value, rest[1:], None
    if rest.startswith("^^"):
        return value, None, rest[2:]
    if rest:
        raise ValueError(f"not a literal: {text}")
    return value, None, None


def nt_term(text: str, prefixes: dict[str, str]) -> str:
    """Turn what a person typed (a CURIE, a bare local name, an IRI or a literal) into N-Triples.

    A bare name is one of ours (`IL6` is `cytokg:IL6`); `a` is rdf:type, as in Turtle.
    """
    text = text.strip()
    if text.startswith('"'):
        value, lang, datatype = parse_literal(text)
        if datatype is not None:
            datatype = nt_term(datatype, prefixes)[1:-1]
        return quote_literal(value, lang, datatype)
    if (text.startswith("<") and text.endswith(">")) or text.startswith("_:"):
        return text  # an IRI, or a class expression's name in the derivations file
    if text == "a":
        return f"<{RDF}type>"
    if "://" in text or text.startswith("urn:"):
        return f"<{text}>"
    prefix, colon, local = text.partition(":")
    if colon and prefix in prefixes:
        return f"<{prefixes[prefix]}{local}>"
    if colon:
        raise ValueError(f"unknown prefix {prefix!r} in {text!r}; use a full IRI or one of: "
                         + ", ".join(sorted(prefixes)))
    return f"<{prefixes.get('cytokg', BASE)}{text}>"


def literal_value(term: str) -> str | None:
    """The lexical form of an N-Triples literal, or None for an IRI or blank node."""
    if not term.startswith('"'):
        return None
    try:
        return parse_literal(_strip_tag(term))[0]
    except ValueError:
        return None


def _strip_tag(term: str) -> str:
    """A literal without its datatype or language tag."""
    for pattern in (_DATATYPE, _LANG):
        match = pattern.match(term)
        if match:
            return match.group(1)
    return term


# ---------------------------------------------------------------------- asserted triples


@dataclass
class Asserted:
    """What the asserted graph says about one triple: present or not, and its sources."""

    triple: TripleKey
    sources: list[str]


def find_asserted(release: Path, triple: TripleKey, object_text: str | None) -> Asserted | None:
    """Look a triple up in the release's asserted N-Triples, with its axiom annotation sources.

    `object_text`, when given, also matches a literal object by its lexical form alone.
    """
    subject, predicate, obj = triple
    found: TripleKey | None = None
    annotations: dict[str, list] = {}
    lines = (release / ASSERTED_FILE).read_text(encoding="utf-8").splitlines()
    for line in lines:
        s, p, o = split_line(line)
        if s == subject and p == predicate and found is None and (
                o == obj or (object_text is not None and literal_value(o) == object_text)):
            found = (s, p, o)
        if s.startswith("_:") and (p in ANNOTATION or p == DCTERMS_SOURCE):
            annotations.setdefault(s, [None, None, None, []])
            if p == DCTERMS_SOURCE:
                annotations[s][3].append(o)
            else:
                annotations[s][ANNOTATION[p]] = o
    if found is None:
        return None
    sources = sorted({src for s, p, o, srcs in annotations.values() if (s, p, o) == found
                      for src in srcs})
    return Asserted(found, sources)


def source_details(release: Path, iris: list[str]) -> dict[str, dict]:
    """Label, PMID and DOI of some sources, read from the asserted N-Triples."""
    wanted = set(iris)
    info: dict[str, dict] = {}
    for line in (release / ASSERTED_FILE).read_text(encoding="utf-8").splitlines():
        s, p, o = split_line(line)
        if s in wanted and p in SOURCE_FIELDS:
            value = literal_value(o)
            entry = info.setdefault(s, {"source": s})
            key = SOURCE_FIELDS[p]
            if value is not None and (key not in entry or value < entry[key]):
                entry[key] = value
    return info


def split_line(line: str) -> TripleKey:
    """Split a canonical N-Triples line (IRIs and blank nodes hold no spaces)."""
    s, p, rest = line.split(" ", 2)
    return s, p, rest[:-2] if rest.endswith(" .") else rest


# ---------------------------------------------------------------------- one question


def explain(release: Path, subject: str, predicate: str, obj: str,
            explainer: Explainer | None = None) -> tuple[Node, Explainer]:
    """Explain the triple a person typed: its derivation, or asserted with sources, or absent.

    The object may be a literal, quoted or not: an unquoted object that names no triple as an
    IRI also matches a literal object with that lexical form.
    """
    explainer = explainer or Explainer.load(release)
    prefixes = explainer.prefixes
    s, p = nt_term(subject, prefixes), nt_term(predicate, prefixes)
    quoted = obj.strip().startswith('"')
    try:
        o = nt_term(obj, prefixes)
    except ValueError:
        if quoted:
            raise
        o = quote_literal(obj.strip())
    lexical = None if quoted else obj.strip()
    candidates = [(s, p, o)]
    if lexical is not None:
        candidates += [t for t in explainer.steps if t[0] == s and t[1] == p
                       and literal_value(t[2]) == lexical]
    for triple in candidates:
        if triple in explainer.steps:
            return explainer.tree(triple), explainer
    asserted = find_asserted(release, (s, p, o), lexical)
    if asserted is None:
        return Node((s, p, o), "absent"), explainer
    details = source_details(release, asserted.sources)
    explainer.source_info.update({k: v for k, v in details.items()
                                  if k not in explainer.source_info})
    return Node(asserted.triple, "asserted",
                sources=explainer.source_records(asserted.sources)), explainer
