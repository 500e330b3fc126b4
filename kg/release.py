"""Write the release into `build/`: deterministic bytes, written atomically, manifest last.

Every file is rendered in memory first, so a serialisation error writes nothing; each file then
replaces its predecessor by an atomic rename, and `manifest.json`, which lists the hash of every
file, is renamed last: a reader that checks the manifest never accepts a half-written release.
"""

from __future__ import annotations

import hashlib
import heapq
import itertools
import json
import os
import subprocess
import tempfile
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, OWL, RDF, RDFS
from rdflib.plugins.serializers.jsonld import from_rdf

from kg.docs import finish_docs, start_docs
from kg.errors import BuildError
from kg.layout import MANIFEST
from kg.mappings import MAPPING_PREDICATES, sssom_table
from kg.parallel import Background
from kg.sources import bind_prefixes
from kg.stats import overview_svg, store_from_ntriples, summarise
from kg.triples import Triple, full_iris_for_escaped_names, graph_over, nt_document, nt_lines
from kg.vocab import BASE, VOID

CONTEXT = "context.jsonld"
DOCS = "docs/index.html"
JSONLD = "cytokg.jsonld"
# Children compacting the JSON-LD document: the slowest file, split across the cores.
JSONLD_PARTS = 2
OVERVIEW = "overview.svg"
OXIGRAPH_FORMATS = {"turtle": pyoxigraph.RdfFormat.TURTLE, "xml": pyoxigraph.RdfFormat.RDF_XML}
DATASET = URIRef(BASE + "dataset")
DATABASE_RECORD = URIRef(BASE + "DatabaseRecord")
BIOREGISTRY = "https://bioregistry.io/registry/"


@dataclass
class Release:
    """The graphs that make a release and what the manifest says about how they were made.

    `asserted` and `inferred` are sets of triples (or Graphs, which iterate as triples).
    """

    asserted: Iterable[Triple]
    inferred: Iterable[Triple]
    prefixes: dict[str, str]
    context: dict
    manifest: dict


def graph_of(triples, prefixes: dict[str, str]) -> Graph:
    """Copy triples into a new graph that knows only our prefixes."""
    graph = Graph(bind_namespaces="none")
    bind_prefixes(graph, prefixes)
    for triple in triples:
        graph.add(triple)
    return graph


def ntriples(graph: Iterable[Triple]) -> bytes:
    """Serialise as N-Triples with sorted lines, the canonical form that diffs cleanly."""
    return nt_document(nt_lines(graph))


def merge_ntriples(*documents: bytes) -> bytes:
    """Merge canonical N-Triples documents into one, still sorted and without duplicates.

    The documents are sorted already, so sorting their lines together merges sorted runs (in
    linear time) and equal lines end up side by side, where groupby drops the repeats.
    """
    lines = sorted(itertools.chain.from_iterable(d.splitlines() for d in documents))
    return b"".join(line + b"\n" for line, _ in itertools.groupby(lines) if line.strip())


def parsed_ntriples(document: bytes) -> list:
    """Parse canonical N-Triples with pyoxigraph, once for every format written from them."""
    return list(pyoxigraph.parse(document, format=pyoxigraph.RdfFormat.N_TRIPLES))


def from_ntriples(document: bytes | list, fmt: str, prefixes: dict[str, str]) -> bytes:
    """Write canonical N-Triples (or their `parsed_ntriples`) as Turtle or RDF/XML.

    pyoxigraph writes triples in the order it is given, grouping a subject's triples: sorted
    lines in give stable, diffable bytes out, far faster than rdflib's serialisers.
    """
    triples = parsed_ntriples(document) if isinstance(document, bytes) else document
    ordered = dict(sorted(prefixes.items()))
    written = pyoxigraph.serialize(triples, format=OXIGRAPH_FORMATS[fmt], prefixes=ordered)
    # pyoxigraph escapes `/` and other marks in prefixed names, which OWL tools cannot read.
    return full_iris_for_escaped_names(written, ordered) if fmt == "turtle" else written


def jsonld(graph: Graph, context: dict) -> bytes:
    """Compact JSON-LD with our context; rdflib orders nodes as its sets do, so sort after.

    rdflib's JSON-LD serialiser is `from_rdf` followed by json.dumps; calling `from_rdf`
    directly skips writing the document out and parsing it back.
    """
    compact = from_rdf(graph, context_data=context["@context"])
    text = json.dumps(canonical_json(compact), indent=1, sort_keys=True, ensure_ascii=False)
    return (text + "\n").encode("utf-8")


def serialise(graph: Graph, fmt: str, context: dict) -> bytes:
    """Serialise a graph in one of the release formats (turtle, nt, json-ld, xml)."""
    if fmt == "json-ld":
        return jsonld(graph, context)
    document = ntriples(graph)
    if fmt == "nt":
        return document
    prefixes = {prefix: str(namespace) for prefix, namespace in graph.namespaces()}
    return from_ntriples(document, fmt, prefixes)


def canonical_json(value):
    """Order the arrays of a JSON-LD document (not @list values, whose order is data).

    Each array is sorted by the compact JSON text (sorted keys) of its items.
    """
    return _canonical(value)[0]


_compact_json = json.JSONEncoder(sort_keys=True, ensure_ascii=False).encode


def _canonical(value) -> tuple[object, str]:
    """Order a value's arrays and return it with its compact JSON text, built from its parts'.

    The text of a container is assembled from the texts of its members (as json.dumps writes
    it with sorted keys and the default separators), so nothing is encoded twice.
    """
    if isinstance(value, dict):
        ordered, parts = {}, []
        for key in sorted(value):
            if key == "@list":
                member, text = value[key], _compact_json(value[key])
            else:
                member, text = _canonical(value[key])
            ordered[key] = member
            parts.append(f"{_compact_json(key)}: {text}")
        return ordered, "{" + ", ".join(parts) + "}"
    if isinstance(value, list):
        members = sorted((_canonical(v) for v in value), key=lambda pair: pair[1])
        return [v for v, _ in members], "[" + ", ".join(text for _, text in members) + "]"
    return value, _compact_json(value)


def docs_source(asserted: Iterable[Triple], prefixes: dict[str, str]) -> bytes:
    """The Turtle pyLODE documents: the asserted graph without individuals and axiom annotations.

    The child process drops those itself (kg.docs.tbox); leaving them out here spares it
    parsing the whole graph, and gives the same page.
    """
    data = {s for s, p, o in asserted if p in _TYPE and o in _DATA_TYPES}
    document = nt_document(nt_lines(t for t in asserted if t[0] not in data))
    return from_ntriples(document, "turtle", prefixes)


# Terms as sets: membership hashes where `==` would run rdflib's Python-level __eq__.
_TYPE = frozenset({RDF.type})
_LABEL = frozenset({RDFS.label})
_DATA_TYPES = frozenset({OWL.NamedIndividual, OWL.Axiom})
_DATABASE_RECORD = frozenset({DATABASE_RECORD})


def render(release: Release, docs: subprocess.Popen | bytes | None = None,
           asserted_nt: bytes | None = None, inferred_nt: bytes | None = None,
           jsonld_document: bytes | None = None) -> dict[str, bytes]:
    """Render every release file except the manifest, keyed by file name.

    `docs` is the pyLODE child (kg.docs.start_docs) or its finished page, `asserted_nt` and
    `inferred_nt` the graphs as canonical N-Triples and `jsonld_document` the JSON-LD file, if
    the caller has them already (made earlier, or reused from the build cache). The JSON-LD
    document, the slowest file, is otherwise written by forked child processes while this one
    renders the others.
    """
    prefixes = release.prefixes
    asserted = release.asserted if isinstance(release.asserted, set) else set(release.asserted)
    inferred = release.inferred if isinstance(release.inferred, set) else set(release.inferred)
    if docs is None:  # pyLODE runs in its own process, working while this one renders
        docs = start_docs(docs_source(asserted, prefixes))
    compacting: list[Background] = []
    try:
        full = asserted | inferred
        if jsonld_document is None:
            compacting = start_jsonld(full, prefixes, release.context)
        lines = {"cytokg-asserted": asserted_nt or ntriples(asserted),
                 "cytokg-inferred": inferred_nt or ntriples(inferred)}
        lines["cytokg"] = merge_ntriples(*lines.values())
        files = {}
        for stem, document in lines.items():
            files[f"{stem}.nt"] = document
            parsed = parsed_ntriples(document)
            files[f"{stem}.ttl"] = from_ntriples(parsed, "turtle", prefixes)
            if stem == "cytokg":  # the full graph is written twice: parse it once
                files["cytokg.owl"] = from_ntriples(parsed, "xml", prefixes)
        version = release.manifest.get("version", "")
        files["cytokg.sssom.tsv"] = sssom_table(mapping_graph(full), prefixes, version)
        files[CONTEXT] = (json.dumps(release.context, indent=2, sort_keys=True) + "\n").encode()
        files[OVERVIEW] = overview_svg(summarise(store_from_ntriples(lines["cytokg"])))
        void = void_description(asserted, inferred, full, prefixes,
                                sorted([*files, DOCS, JSONLD]))
        files["void.ttl"] = serialise(void, "turtle", release.context)
        files[DOCS] = docs if isinstance(docs, bytes) else finish_docs(docs)
        files[JSONLD] = (jsonld_document if jsonld_document is not None
                         else finish_jsonld(compacting, full, prefixes, release.context))
    finally:
        for child in compacting:  # a failure above must not leave a child running
            child.cancel()
        if not isinstance(docs, bytes) and docs.poll() is None:
            docs.kill()
            docs.communicate()
    return files


def start_jsonld(triples: set[Triple], prefixes: dict[str, str], context: dict,
                 parts: int = JSONLD_PARTS) -> list[Background]:
    """Start compacting the graph to JSON-LD in forked children, one per part of the graph.

    rdflib writes one JSON-LD node per subject (an IRI, or a blank node that no triple points
    to) and follows blank-node objects from it; so a subject, its blank-node objects followed
    transitively and whatever else points to them form a unit that no other node refers into.
    Each child compacts the units that fall to it; the document is their nodes together. With
    a context that defines terms (not only prefixes) the graph is compacted whole.
    """
    if not all(isinstance(v, str) for v in context["@context"].values()):
        parts = 1
    return [Background("JSON-LD", jsonld_nodes, triples, prefixes, context, part, parts)
            for part in range(parts)]


def jsonld_nodes(triples: set[Triple], prefixes: dict[str, str], context: dict, part: int,
                 parts: int) -> list[tuple[str, str]]:
    """Compact one part of the graph (see start_jsonld) and write its nodes.

    Returns each node as (its compact JSON text, by which the document orders its nodes; its
    text as it appears in the document, indented two levels), in document order.
    """
    roots = blank_node_units(triples)
    mine = [t for t in triples if hash(roots.get(t[0], t[0])) % parts == part]
    compact = from_rdf(graph_over(mine, prefixes), context_data=context["@context"])
    if "@graph" in compact:
        nodes = compact["@graph"]
    else:  # rdflib writes a lone node at the top level, beside the context
        node = {k: v for k, v in compact.items() if k != "@context"}
        nodes = [node] if node else []
    written = []
    for node in nodes:
        ordered, key = _canonical(node)
        text = json.dumps(ordered, indent=1, sort_keys=True, ensure_ascii=False)
        written.append((key, text.replace("\n", "\n  ")))
    return sorted(written)


def finish_jsonld(children: list[Background], triples: set[Triple], prefixes: dict[str, str],
                  context: dict) -> bytes:
    """Collect the children's nodes into the document `jsonld` writes for the whole graph.

    That document is `{"@context": ..., "@graph": [nodes ordered by their compact text]}`
    indented by one space per level (for fewer than two nodes rdflib writes another shape,
    so such a graph is compacted whole).
    """
    nodes = list(heapq.merge(*(child.result() for child in children)))
    if len(nodes) < 2:
        return jsonld(graph_over(triples, prefixes), context)
    head = json.dumps(canonical_json(context["@context"]), indent=1, sort_keys=True,
                      ensure_ascii=False).replace("\n", "\n ")
    body = ",\n  ".join(text for _, text in nodes)
    return f'{{\n "@context": {head},\n "@graph": [\n  {body}\n ]\n}}\n'.encode()


def blank_node_units(triples: Iterable[Triple]) -> dict:
    """Map every subject joined to others through blank-node objects to one node of its unit.

    Subjects missing from the map are units by themselves.
    """
    parent: dict = {}

    def root(node: object) -> object:
        """Follow the parents to the unit's representative, shortening the path."""
        path = []
        while node in parent and parent[node] is not node:
            path.append(node)
            node = parent[node]
        for step in path:
            parent[step] = node
        return node

    for subject, _, obj in triples:
        if isinstance(obj, BNode):
            first, second = root(subject), root(obj)
            parent.setdefault(first, first)
            parent[second] = first
    return {node: root(node) for node in list(parent)}


def mapping_graph(triples: Iterable[Triple]) -> Graph:
    """The mapping triples and labels of a graph, all the SSSOM table reads."""
    wanted = frozenset({*MAPPING_PREDICATES, RDFS.label})
    return graph_over(t for t in triples if t[1] in wanted)


def void_description(asserted: Iterable[Triple], inferred: Iterable[Triple],
                     full: Iterable[Triple], prefixes: dict[str, str], dumps: list[str]) -> Graph:
    """Describe the dataset in VoID: counts, class and property partitions, dumps and linksets."""
    asserted, inferred, full = (g if isinstance(g, set) else set(g)
                                for g in (asserted, inferred, full))
    void = Graph(bind_namespaces="none")
    bind_prefixes(void, prefixes)
    add = void.add
    add((DATASET, RDF.type, VOID.Dataset))
    add((DATASET, DCTERMS.title, Literal("Cytokine Knowledge Graph", lang="en")))
    add((DATASET, VOID.uriSpace, Literal(BASE)))
    add((DATASET, VOID.rootResource, URIRef(BASE + "cytokg.owl")))
    from kg.provenance import LICENCE, source_provenance

    add((DATASET, DCTERMS.license, URIRef(LICENCE)))
    # The release's version, and each database record's licence and version (kg.provenance).
    for triple in source_provenance(asserted, DATASET):
        add(triple)
    for name in dumps:
        add((DATASET, VOID.dataDump, URIRef(BASE + name)))
    for name, graph in (("asserted", asserted), ("inferred", inferred)):
        subset = URIRef(f"{DATASET}/{name}")
        add((DATASET, VOID.subset, subset))
        add((subset, RDF.type, VOID.Dataset))
        add((subset, VOID.triples, Literal(len(graph))))
    stats = counts(full)
    for key in ("triples", "entities", "classes", "properties", "distinctSubjects",
                "distinctObjects"):
        add((DATASET, VOID[key], Literal(stats[key])))
    for index, (cls, n) in enumerate(sorted(class_counts(full).items())):
        part = URIRef(f"{DATASET}/class/{index}")
        add((DATASET, VOID.classPartition, part))
        add((part, VOID["class"], cls))
        add((part, VOID.entities, Literal(n)))
    for index, (prop, n) in enumerate(sorted(Counter(p for _, p, _ in full).items())):
        part = URIRef(f"{DATASET}/property/{index}")
        add((DATASET, VOID.propertyPartition, part))
        add((part, VOID.property, prop))
        add((part, VOID.triples, Literal(n)))
    # The databases our statements are drawn from, as the sources of the dataset.
    records = {s for s, p, o in asserted if p in _TYPE and o in _DATABASE_RECORD}
    labels: dict = {}
    for s, p, o in asserted:
        if s in records and p in _LABEL:
            labels.setdefault(s, []).append(o)
    for record in sorted(records):
        add((DATASET, DCTERMS.source, record))
        add((record, RDF.type, VOID.Dataset))
        if record in labels:
            add((record, DCTERMS.title, min(labels[record])))
    for (prefix, predicate), n in sorted(linksets(full, prefixes).items()):
        linkset = URIRef(f"{DATASET}/linkset/{prefix}/{predicate.split('#')[-1]}")
        target = URIRef(BIOREGISTRY + prefix.lower())
        add((linkset, RDF.type, VOID.Linkset))
        add((linkset, VOID.subjectsTarget, DATASET))
        add((linkset, VOID.objectsTarget, target))
        add((linkset, VOID.linkPredicate, predicate))
        add((linkset, VOID.triples, Literal(n)))
        add((target, RDF.type, VOID.Dataset))
        add((target, DCTERMS.title, Literal(prefix)))
    return void


def counts(graph: Iterable[Triple]) -> dict[str, int]:
    """Count triples, our entities, classes used, properties used and distinct subjects/objects."""
    triples = graph if isinstance(graph, set) else set(graph)
    subjects = {s for s, _, _ in triples}
    return {
        "triples": len(triples),
        "entities": sum(1 for s in subjects if isinstance(s, URIRef) and str(s).startswith(BASE)),
        "classes": len({o for _, p, o in triples if p in _TYPE}),
        "properties": len({p for _, p, _ in triples}),
        "distinctSubjects": len(subjects),
        "distinctObjects": len({o for _, _, o in triples}),
    }


def class_counts(graph: Iterable[Triple]) -> Counter:
    """Count the members of each class in our namespace."""
    return Counter(o for _, p, o in graph
                   if p in _TYPE and isinstance(o, URIRef) and str(o).startswith(BASE))


def linksets(graph: Iterable[Triple], prefixes: dict[str, str]) -> Counter:
    """Count mapping links by target prefix and mapping predicate, for VoID linksets."""
    by_length = sorted(prefixes.items(), key=lambda kv: -len(kv[1]))
    mapping = frozenset(MAPPING_PREDICATES)
    found: Counter = Counter()
    for subject, predicate, obj in graph:
        if predicate not in mapping:
            continue
        if not str(subject).startswith(BASE) or not isinstance(obj, URIRef):
            continue
        prefix = next((p for p, ns in by_length if str(obj).startswith(ns)), None)
        if prefix is not None and prefix != "cytokg":
            found[(prefix, predicate)] += 1
    return found


def digest(data: bytes) -> str:
    """Hash file contents for the manifest."""
    return hashlib.sha256(data).hexdigest()


def manifest_bytes(manifest: dict, files: dict[str, bytes]) -> bytes:
    """Complete the manifest with the hash and size of every file and render it stably."""
    complete = dict(manifest)
    complete["files"] = {name: {"sha256": digest(data), "bytes": len(data)}
                         for name, data in sorted(files.items())}
    return (json.dumps(complete, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()


def write_release(release: Release, out: Path,
                  progress: Callable[[str], None] = lambda _: None) -> dict[str, bytes]:
    """Render all files, then move each into `out` atomically, the manifest last."""
    return write_files(render(release), release.manifest, out, progress)


def write_files(files: dict[str, bytes], manifest: dict, out: Path,
                progress: Callable[[str], None] = lambda _: None) -> dict[str, bytes]:
    """Move rendered files into `out` atomically, then the manifest that lists their hashes."""
    files_with_manifest = {**files, MANIFEST: manifest_bytes(manifest, files)}
    out.mkdir(parents=True, exist_ok=True)
    staged: list[tuple[Path, Path]] = []
    try:
        for name, data in files_with_manifest.items():
            staged.append((stage(out, name, data), out / name))
    except (OSError, BuildError):
        for temporary, _ in staged:
            temporary.unlink(missing_ok=True)
        raise
    # The manifest goes last, so a reader never sees it before the files it describes.
    for temporary, final in sorted(staged, key=lambda pair: pair[1].name == MANIFEST):
        os.replace(temporary, final)
        progress(final.name)
    return files_with_manifest


def stage(directory: Path, name: str, data: bytes) -> Path:
    """Write data to a temporary file beside its destination and flush it to disk."""
    final = directory / name
    final.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(prefix=f".{final.name}.", suffix=".tmp", dir=final.parent)
    try:
        os.fchmod(fd, 0o644)  # mkstemp makes 0600; a release is for everyone to read
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
    except OSError as exc:
        Path(temporary).unlink(missing_ok=True)
        # A failed write (full disk, file size limit) has no file name of its own: name it.
        reason = exc.strerror or str(exc)
        raise BuildError(f"cannot write {final} ({reason}); the previous release is "
                         "unchanged") from exc
    return Path(temporary)

