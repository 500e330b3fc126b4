"""Load `ontology/` into one graph of asserted triples, naming the file and line of every error.

The TBox comes from the edit file `cytokg.ttl`; the ABox from the tables in `data/*.tsv`, which are
turned into triples as ROBOT templates do in OBO projects. Each fact of a row carries its provenance
as an OWL 2 axiom annotation (OWL 2 Structural Specification, section 10.2; mapped to RDF as in the
OWL 2 RDF Mapping, table 17): `[] a owl:Axiom; owl:annotatedSource s; owl:annotatedProperty p;
owl:annotatedTarget o; dcterms:source src`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import curies
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import OWL, RDF, RDFS, XSD
from rdflib.plugins.parsers.notation3 import BadSyntax

from kg.errors import BuildError
from kg.layout import CONTEXT_FILE, DATA_DIR, SHAPES_FILE, TBOX_FILE, source_files
from kg.triples import Triple, canonical_labels, graph_over, relabel
from kg.vocab import CYTOKG, DCTERMS, SKOS, converter, load_context

SOURCES_TABLE = "sources"  # sources.tsv and sources-<topic>.tsv: rows that are sources need none
SEPARATOR = " | "
ENTITY_COLUMNS = ("id", "type", "label", "definition", "source")
OPTIONAL_COLUMNS = ("alt_labels",)
STATEMENT_HEADER = ["subject", "property", "object", "source"]
LOCAL_NAME_CHARS = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-.")
# The terms every row writes, made once: rdflib's namespaces make a new term on each access.
RDF_TYPE, OWL_AXIOM, NAMED_INDIVIDUAL = RDF.type, OWL.Axiom, OWL.NamedIndividual
ANNOTATED_SOURCE, ANNOTATED_PROPERTY = OWL.annotatedSource, OWL.annotatedProperty
ANNOTATED_TARGET, DC_SOURCE = OWL.annotatedTarget, DCTERMS.source
LABEL, DEFINITION, ALT_LABEL = RDFS.label, SKOS.definition, SKOS.altLabel


@dataclass
class Sources:
    """The asserted triples and the files they came from (for hashing and error messages)."""

    triples: set[Triple]
    tbox: Graph
    shapes: Graph
    prefixes: dict[str, str]
    files: list[Path] = field(default_factory=list)

    @cached_property
    def graph(self) -> Graph:
        """The asserted triples as an rdflib Graph with our prefixes, made on first use."""
        return graph_over(self.triples, self.prefixes, defaults="rdflib")


def parse_turtle(path: Path, canonical: bool = True) -> Graph:
    """Parse a Turtle file, turning a syntax error into a BuildError naming the file and line.

    Blank nodes are relabelled canonically unless `canonical` is false, which suits a graph
    (the shapes) whose labels never reach the release.
    """
    graph = Graph()
    try:
        graph.parse(path, format="turtle")
    except BadSyntax as exc:
        raise BuildError(f"{path}:{exc.lines + 1}: Turtle syntax error: {exc._why}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise BuildError(f"{path}: cannot read: {exc}") from None
    if not canonical:
        return graph
    # Parsed blank nodes get random labels; canonical labels (those of rdflib's
    # to_canonical_graph) make releases byte-stable.
    labels = canonical_labels(graph)
    return graph_over(relabel(t, labels) for t in graph)


def load(root: Path) -> Sources:
    """Load the TBox and every table under `root` into one asserted graph."""
    for required in (TBOX_FILE, CONTEXT_FILE):
        if not (root / required).is_file():
            raise BuildError(f"{root / required}: missing source file")
    prefixes = load_context(root / CONTEXT_FILE)
    tbox = parse_turtle(root / TBOX_FILE)
    shapes = (parse_turtle(root / SHAPES_FILE, canonical=False) if (root / SHAPES_FILE).exists()
              else Graph())
    triples: set[Triple] = set(tbox)
    builder = _TableLoader(tbox, converter(prefixes), triples)
    tables = sorted((root / DATA_DIR).glob("*.tsv"))
    errors: list[str] = []
    for path in tables:
        errors.extend(builder.load_table(path))
    if errors:
        raise BuildError(f"{len(errors)} error(s) in the tables of {root / DATA_DIR}", errors)
    return Sources(triples=triples, tbox=tbox, shapes=shapes, prefixes=prefixes,
                   files=source_files(root))


def bind_prefixes(graph: Graph, prefixes: dict[str, str]) -> None:
    """Bind our prefixes so that every serialisation of the graph uses the same short names."""
    for prefix, namespace in prefixes.items():
        graph.bind(prefix, namespace, override=True, replace=True)


def axiom_node(triple: tuple[URIRef, URIRef, URIRef | Literal]) -> BNode:
    """Name the annotation node of a triple by its content, so that rebuilds give the same bytes."""
    key = " ".join(term.n3() for term in triple)
    return BNode("ax" + hashlib.sha1(key.encode("utf-8")).hexdigest()[:20])


def annotate(triples: set[Triple], triple: tuple[URIRef, URIRef, URIRef | Literal],
             sources: Iterable[URIRef]) -> None:
    """Add a triple with its provenance as an owl:Axiom annotation (OWL 2 RDF Mapping, table 17)."""
    triples.add(triple)
    sources = list(sources)
    if not sources:  # only a source's own row may lack one: nothing to annotate
        return
    node = axiom_node(triple)
    subject, predicate, obj = triple
    triples.add((node, RDF_TYPE, OWL_AXIOM))
    triples.add((node, ANNOTATED_SOURCE, subject))
    triples.add((node, ANNOTATED_PROPERTY, predicate))
    triples.add((node, ANNOTATED_TARGET, obj))
    for source in sources:
        triples.add((node, DC_SOURCE, source))


class _TableLoader:
    """Turns rows of entity and statement tables into triples, collecting every error found."""

    def __init__(self, tbox: Graph, conv: curies.Converter, triples: set[Triple]) -> None:
        self.tbox = tbox
        self.conv = conv
        self.triples = triples
        self.seen: dict[URIRef, str] = {}
        # Rows repeat the same few IRIs, properties and values: resolve each text once.
        self._iris: dict[str, URIRef] = {}
        self._properties: dict[str, URIRef] = {}
        self._values: dict[tuple[URIRef, str], URIRef | Literal] = {}

    def load_table(self, path: Path) -> list[str]:
        """Load one table and return its errors, each prefixed by file and line."""
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except UnicodeDecodeError as exc:
            return [f"{path}: not UTF-8 ({exc.reason} at byte {exc.start})"]
        rows = [(n, line) for n, line in enumerate(lines, 1)
                if line.strip() and not line.startswith("#")]
        if not rows:
            return [f"{path}: empty table (no header)"]
        header_line, header_text = rows[0]
        header = [h.strip() for h in header_text.split("\t")]
        errors: list[str] = []
        if header == STATEMENT_HEADER:
            row_loader = self._statement_row
        else:
            missing = [c for c in ENTITY_COLUMNS if c not in header]
            if missing:
                return [f"{path}:{header_line}: header lacks column(s) {', '.join(missing)} "
                        f"(an entity table needs {', '.join(ENTITY_COLUMNS)}; a statement "
                        f"table has exactly {' '.join(STATEMENT_HEADER)})"]
            for column in header:
                if column not in ENTITY_COLUMNS + OPTIONAL_COLUMNS:
                    try:
                        self._property(column)
                    except ValueError as exc:
                        errors.append(f"{path}:{header_line}: column {column!r}: {exc}")
            if errors:
                return errors
            row_loader = self._entity_row
        optional_source = path.stem == SOURCES_TABLE or path.stem.startswith(SOURCES_TABLE + "-")
        for number, text in rows[1:]:
            cells = text.split("\t")
            where = f"{path}:{number}"
            if len(cells) > len(header):
                errors.append(f"{where}: {len(cells)} cells but the header has {len(header)}")
                continue
            row = dict(zip(header, [c.strip() for c in cells] + [""] * len(header), strict=False))
            try:
                row_loader(row, where, optional_source)
            except ValueError as exc:
                errors.append(f"{where}: {exc}")
        return errors

    def _property(self, text: str) -> URIRef:
        """Expand a property CURIE, refusing one the TBox does not declare."""
        prop = self._properties.get(text)
        if prop is None:
            prop = self._iri(text)
            if not (prop == RDF.type or (prop, RDF.type, None) in self.tbox):
                raise ValueError(f"property {text} is not declared in the TBox")
            self._properties[text] = prop
        return prop

    def _iri(self, text: str) -> URIRef:
        """Expand a bare local name into our namespace, or a CURIE with a known prefix."""
        iri = self._iris.get(text)
        if iri is None:
            iri = self._iris[text] = self._expand(text)
        return iri

    def _expand(self, text: str) -> URIRef:
        """Expand one IRI text, raising ValueError for a bad local name or an unknown prefix."""
        if ":" not in text:
            if not text or not set(text) <= LOCAL_NAME_CHARS:
                raise ValueError(f"{text!r} is not a valid local name")
            return CYTOKG[text]
        expanded = self.conv.expand(text)
        if expanded is None:
            raise ValueError(f"{text!r} has an unknown prefix (see ontology/context.jsonld)")
        return URIRef(expanded)

    def _value(self, prop: URIRef, text: str) -> URIRef | Literal:
        """Make the object of a property: a typed literal for data properties, else an IRI."""
        key = (prop, text)
        value = self._values.get(key)
        if value is None:
            value = self._values[key] = self._make_value(prop, text)
        return value

    def _make_value(self, prop: URIRef, text: str) -> URIRef | Literal:
        """Make one property value, raising ValueError for an ill-typed literal.

        Data properties, and annotation properties whose declared range is xsd:string (such as
        a gene symbol that is also a synonym), take literals; every other property an IRI.
        """
        literal_annotation = ((prop, RDF.type, OWL.AnnotationProperty) in self.tbox
                              and (prop, RDFS.range, XSD.string) in self.tbox)
        if literal_annotation:
            return Literal(text)
        if (prop, RDF.type, OWL.DatatypeProperty) in self.tbox:
            datatype = self.tbox.value(prop, RDFS.range)
            if datatype is None or datatype == XSD.string:
                return Literal(text)
            literal = Literal(text, datatype=datatype)
            if literal.ill_typed:
                raise ValueError(f"{text!r} is not a valid {self.conv.compress(str(datatype))}")
            return literal
        return self._iri(text)

    def _sources(self, cell: str, optional: bool) -> list[URIRef]:
        """Expand the source cell, which must name at least one source unless `optional`."""
        sources = [self._iri(s) for s in split(cell)]
        if not sources and not optional:
            raise ValueError("no source: every fact must say where it comes from")
        return sources

    def _entity_row(self, row: dict[str, str], where: str, optional_source: bool) -> None:
        """Turn one entity row into its declaration, annotations and annotated facts."""
        for column in ("id", "type", "label", "definition"):
            if not row[column]:
                raise ValueError(f"empty {column!r}")
        entity = self._iri(row["id"])
        if entity in self.seen:
            raise ValueError(f"id {row['id']!r} already defined at {self.seen[entity]}")
        self.seen[entity] = where
        sources = self._sources(row["source"], optional_source)
        add = self.triples.add
        add((entity, RDF_TYPE, NAMED_INDIVIDUAL))
        add((entity, LABEL, Literal(row["label"], lang="en")))
        add((entity, DEFINITION, Literal(row["definition"], lang="en")))
        for alt in split(row.get("alt_labels", "")):
            add((entity, ALT_LABEL, Literal(alt, lang="en")))
        for source in sources:
            add((entity, DC_SOURCE, source))
        for triple in self._facts(entity, row):
            annotate(self.triples, triple, sources)

    def _facts(self, entity: URIRef, row: dict[str, str]) -> Iterator[tuple]:
        """Yield the typed facts of an entity row: its classes and its property columns."""
        for cls in split(row["type"]):
            yield (entity, RDF_TYPE, self._iri(cls))
        for column, cell in row.items():
            if column in ENTITY_COLUMNS or column in OPTIONAL_COLUMNS:
                continue
            prop = self._property(column)
            for value in split(cell):
                yield (entity, prop, self._value(prop, value))

    def _statement_row(self, row: dict[str, str], where: str, optional_source: bool) -> None:
        """Turn one statement row into an annotated triple."""
        for column in STATEMENT_HEADER:
            if not row[column]:
                raise ValueError(f"empty {column!r}")
        prop = self._property(row["property"])
        triple = (self._iri(row["subject"]), prop, self._value(prop, row["object"]))
        annotate(self.triples, triple, self._sources(row["source"], optional_source))


def split(cell: str) -> list[str]:
    """Split a multi-valued cell on ' | ', dropping empty parts."""
    return [part.strip() for part in cell.split(SEPARATOR.strip()) if part.strip()]
