"""Write the release into `build/`: deterministic bytes, written atomically, manifest last.

Every file is rendered in memory first, so a serialisation error writes nothing; each file then
replaces its predecessor by an atomic rename, and `manifest.json`, which lists the hash of every
file, is renamed last: a reader that checks the manifest never accepts a half-written release.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, RDF, RDFS

from kg.docs import finish_docs, start_docs
from kg.errors import BuildError
from kg.mappings import MAPPING_PREDICATES, sssom_table
from kg.sources import bind_prefixes
from kg.stats import overview_svg, store_from_ntriples, summarise
from kg.vocab import BASE, VOID

MANIFEST = "manifest.json"
CONTEXT = "context.jsonld"
DOCS = "docs/index.html"
OVERVIEW = "overview.svg"
OXIGRAPH_FORMATS = {"turtle": pyoxigraph.RdfFormat.TURTLE, "xml": pyoxigraph.RdfFormat.RDF_XML}
DATASET = URIRef(BASE + "dataset")
DATABASE_RECORD = URIRef(BASE + "DatabaseRecord")
BIOREGISTRY = "https://bioregistry.io/registry/"


@dataclass
class Release:
    """The graphs that make a release and what the manifest says about how they were made."""

    asserted: Graph
    inferred: Graph
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


def ntriples(graph: Graph) -> bytes:
    """Serialise as N-Triples with sorted lines, the canonical form that diffs cleanly."""
    lines = graph.serialize(format="nt", encoding="utf-8").splitlines()
    return b"".join(line + b"\n" for line in sorted(set(lines)) if line.strip())


def merge_ntriples(*documents: bytes) -> bytes:
    """Merge canonical N-Triples documents into one, still sorted and without duplicates."""
    lines = set()
    for document in documents:
        lines.update(document.splitlines())
    return b"".join(line + b"\n" for line in sorted(lines) if line.strip())


def from_ntriples(document: bytes, fmt: str, prefixes: dict[str, str]) -> bytes:
    """Write canonical N-Triples as Turtle or RDF/XML with pyoxigraph.

    pyoxigraph writes triples in the order it is given, grouping a subject's triples: sorted
    lines in give stable, diffable bytes out, far faster than rdflib's serialisers.
    """
    triples = pyoxigraph.parse(document, format=pyoxigraph.RdfFormat.N_TRIPLES)
    return pyoxigraph.serialize(triples, format=OXIGRAPH_FORMATS[fmt],
                                prefixes=dict(sorted(prefixes.items())))


def jsonld(graph: Graph, context: dict) -> bytes:
    """Compact JSON-LD with our context; rdflib orders nodes as its sets do, so sort after."""
    compact = json.loads(graph.serialize(format="json-ld", context=context["@context"]))
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
    """Order the arrays of a JSON-LD document (not @list values, whose order is data)."""
    if isinstance(value, dict):
        return {k: (v if k == "@list" else canonical_json(v)) for k, v in value.items()}
    if isinstance(value, list):
        items = [canonical_json(v) for v in value]
        return sorted(items, key=lambda v: json.dumps(v, sort_keys=True, ensure_ascii=False))
    return value


def render(release: Release) -> dict[str, bytes]:
    """Render every release file except the manifest, keyed by file name."""
    prefixes = release.prefixes
    asserted, inferred = release.asserted, release.inferred
    lines = {"cytokg-asserted": ntriples(asserted), "cytokg-inferred": ntriples(inferred)}
    lines["cytokg"] = merge_ntriples(*lines.values())
    files = {}
    for stem, document in lines.items():
        files[f"{stem}.nt"] = document
        files[f"{stem}.ttl"] = from_ntriples(document, "turtle", prefixes)
    # pyLODE runs in its own process: let it work while this one writes the other files.
    docs = start_docs(files["cytokg-asserted.ttl"])
    try:
        full = graph_of(asserted, prefixes)
        full += inferred
        files["cytokg.owl"] = from_ntriples(lines["cytokg"], "xml", prefixes)
        files["cytokg.jsonld"] = jsonld(full, release.context)
        version = release.manifest.get("version", "")
        files["cytokg.sssom.tsv"] = sssom_table(full, prefixes, version)
        files[CONTEXT] = (json.dumps(release.context, indent=2, sort_keys=True) + "\n").encode()
        files[OVERVIEW] = overview_svg(summarise(store_from_ntriples(lines["cytokg"])))
        files[DOCS] = finish_docs(docs)
    finally:
        if docs.poll() is None:  # a failure above must not leave pyLODE running
            docs.kill()
            docs.communicate()
    void = void_description(asserted, inferred, full, prefixes, sorted(files))
    files["void.ttl"] = serialise(void, "turtle", release.context)
    return files


def void_description(asserted: Graph, inferred: Graph, full: Graph, prefixes: dict[str, str],
                     dumps: list[str]) -> Graph:
    """Describe the dataset in VoID: counts, class and property partitions, dumps and linksets."""
    void = Graph(bind_namespaces="none")
    bind_prefixes(void, prefixes)
    add = void.add
    add((DATASET, RDF.type, VOID.Dataset))
    add((DATASET, DCTERMS.title, Literal("Cytokine Knowledge Graph", lang="en")))
    add((DATASET, VOID.uriSpace, Literal(BASE)))
    add((DATASET, VOID.rootResource, URIRef(BASE + "cytokg.owl")))
    add((DATASET, DCTERMS.license, URIRef("https://creativecommons.org/licenses/by-sa/4.0/")))
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
    for record in sorted(set(asserted.subjects(RDF.type, DATABASE_RECORD))):
        add((DATASET, DCTERMS.source, record))
        add((record, RDF.type, VOID.Dataset))
        label = asserted.value(record, RDFS.label)
        if label is not None:
            add((record, DCTERMS.title, label))
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


def counts(graph: Graph) -> dict[str, int]:
    """Count triples, our entities, classes used, properties used and distinct subjects/objects."""
    subjects = set(graph.subjects())
    return {
        "triples": len(graph),
        "entities": sum(1 for s in subjects if isinstance(s, URIRef) and str(s).startswith(BASE)),
        "classes": len(set(graph.objects(None, RDF.type))),
        "properties": len(set(graph.predicates())),
        "distinctSubjects": len(subjects),
        "distinctObjects": len(set(graph.objects())),
    }


def class_counts(graph: Graph) -> Counter:
    """Count the members of each class in our namespace."""
    return Counter(o for _, o in graph.subject_objects(RDF.type)
                   if isinstance(o, URIRef) and str(o).startswith(BASE))


def linksets(graph: Graph, prefixes: dict[str, str]) -> Counter:
    """Count mapping links by target prefix and mapping predicate, for VoID linksets."""
    by_length = sorted(prefixes.items(), key=lambda kv: -len(kv[1]))
    found: Counter = Counter()
    for predicate in MAPPING_PREDICATES:
        for subject, obj in graph.subject_objects(predicate):
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
    files = render(release)
    files_with_manifest = {**files, MANIFEST: manifest_bytes(release.manifest, files)}
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


def read_manifest(out: Path) -> dict | None:
    """Read the manifest of a release, or None when there is none or it is unreadable."""
    try:
        return json.loads((out / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def release_intact(out: Path, manifest: dict) -> bool:
    """Tell whether every file the manifest lists is present with the listed hash."""
    for name, entry in manifest.get("files", {}).items():
        try:
            if digest((out / name).read_bytes()) != entry["sha256"]:
                return False
        except OSError:
            return False
    return True
