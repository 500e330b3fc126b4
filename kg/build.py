"""The pipeline: load -> validate -> reason -> release, skipped when the release is up to date.

Validation (pySHACL and the quality checks) runs in a forked child process while this process
reasons and renders the release in memory, so the two cores of a small machine share the
work (the derivations, the JSON-LD document and the ontology documentation are made in child
processes too); nothing is written until validation has passed, and a failed validation is
the error reported. Each stage's output is cached under the hash of its inputs (kg.cache): a
rebuild, `--force` included, reuses what is unchanged, and `--no-cache` redoes it all. The
stage modules are imported only by a build that has work to do, so a build (or
`cytokg serve`) that finds the release up to date imports none of rdflib, pySHACL or owlrl.
"""

from __future__ import annotations

import gc
import hashlib
import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import TYPE_CHECKING

from kg import __version__
from kg.errors import BuildError
from kg.layout import (
    CONTEXT_FILE,
    DATA_DIR,
    DEFAULT_ENGINE,
    DERIVATIONS,
    MANIFEST,
    check_files,
    read_manifest,
    release_intact,
    source_files,
)

if TYPE_CHECKING:
    from kg.cache import Cache, Entry
    from kg.derive import Derivations
    from kg.parallel import Background
    from kg.reason import Closure
    from kg.sources import Sources
    from kg.validate import Report

Progress = Callable[[str], None]
# The code that shapes the release: a change to it must invalidate an up-to-date release.
PIPELINE_MODULES = ("sources", "validate", "reason", "rules", "release", "mappings", "docs",
                    "stats", "vocab", "build", "layout", "triples", "parallel", "derive",
                    "examples")


@dataclass(frozen=True)
class Project:
    """Where a project's sources, checks and release live."""

    root: Path
    out: Path

    @property
    def ontology(self) -> Path:
        """The hand-edited sources."""
        return self.root / "ontology"

    @property
    def checks(self) -> Path:
        """The quality-check queries."""
        return self.root / "queries" / "checks"

    @property
    def queries(self) -> Path:
        """The competency questions, published in the release as SPARQL examples."""
        return self.root / "queries"

    def inputs(self) -> list[Path]:
        """Every file whose content decides the release."""
        return (source_files(self.ontology) + check_files(self.checks)
                + sorted(self.queries.glob("*.rq")))


@dataclass
class Outcome:
    """What a build did, for the CLI's summary."""

    built: bool
    manifest: dict


def sources_hash(project: Project, reasoner: str = DEFAULT_ENGINE) -> tuple[str, dict[str, str]]:
    """Hash the inputs, the pipeline code, the reasoner and the library versions together."""
    total = hashlib.sha256()
    inputs = {}
    for path in project.inputs():
        name = path.relative_to(project.root).as_posix()
        inputs[name] = hashlib.sha256(path.read_bytes()).hexdigest()
    code_dir = Path(__file__).parent
    for module in PIPELINE_MODULES:
        total.update((code_dir / f"{module}.py").read_bytes())
    total.update(f"{reasoner} {reasoner_version(reasoner)} rdflib {version('rdflib')}".encode())
    total.update(json.dumps(inputs, sort_keys=True).encode())
    return total.hexdigest(), inputs


def reasoner_version(reasoner: str) -> str:
    """The installed version of a reasoner engine's library."""
    return version("owlrl" if reasoner == "owlrl" else "reasonable")


def up_to_date(project: Project, reasoner: str = DEFAULT_ENGINE) -> dict | None:
    """Return the current manifest if the release matches the sources and is intact, else None."""
    manifest = read_manifest(project.out)
    if manifest is None or manifest.get("sources_hash") != sources_hash(project, reasoner)[0]:
        return None
    return manifest if release_intact(project.out, manifest) else None


class Stage:
    """Time a pipeline stage and report it as one progress line."""

    def __init__(self, name: str, progress: Progress) -> None:
        self.name = name
        self.progress = progress

    def __enter__(self) -> Stage:
        self.start = time.perf_counter()
        return self

    def done(self, summary: str, elapsed: float | None = None) -> None:
        """Print the stage's counts with its elapsed time (measured here unless given)."""
        if elapsed is None:
            elapsed = time.perf_counter() - self.start
        self.progress(f"{self.name:<9} {summary} ({elapsed:.2f} s)")

    def __exit__(self, *exc: object) -> None:
        return None


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while the pipeline runs.

    The pipeline builds millions of tuples, sets and dictionaries that live until it ends and
    hold no reference cycles; the collector would traverse all of them again and again as they
    accumulate (a third of the CPU time of a large build). Forked children inherit the pause.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def load_and_validate(project: Project, progress: Progress) -> Sources:
    """Load the sources and validate them: the first two stages, shared by build and validate."""
    with collector_paused():
        sources = load_stage(project, progress)
        with Stage("validate", progress) as stage:
            report, _ = validate_sources(project, sources)
            stage.done(validated(report))
    return sources


def load_stage(project: Project, progress: Progress) -> Sources:
    """Load the sources, reporting the load stage."""
    from kg.sources import load

    with Stage("load", progress) as stage:
        sources = load(project.ontology)
        stage.done(f"{len(sources.triples)} asserted triples from {len(sources.files)} files")
    return sources


def validate_sources(project: Project, sources: Sources, ntriples: bytes | None = None,
                     in_place: bool = False) -> tuple[Report, float]:
    """Run the shapes and quality checks on the asserted graph; return the report and seconds.

    `in_place` lets pySHACL work on `sources.graph` itself (the forked child's own copy).
    """
    from kg.validate import validate
    from kg.vocab import converter

    start = time.perf_counter()
    conv = converter(sources.prefixes)
    report = validate(sources.graph, sources.shapes, project.checks,
                      compress=lambda iri: conv.compress(iri, passthrough=True),
                      ntriples=ntriples, in_place=in_place)
    return report, time.perf_counter() - start


def validated(report: Report) -> str:
    """The validate stage's summary."""
    return f"{report.shapes} SHACL shapes and {report.checks} quality checks passed"


def build(project: Project, progress: Progress = print, force: bool = False,
          reasoner: str = DEFAULT_ENGINE, cache: bool = True,
          cache_dir: Path | None = None) -> Outcome:
    """Run the whole pipeline unless the release is already up to date.

    `force` runs it even then. A run reuses the cached output of every stage whose inputs hash
    as they did when it was stored (kg.cache), unless `cache` is false (`--no-cache`): then
    every stage is recomputed, and what they make refreshes the cache.
    """
    if not force:
        manifest = up_to_date(project, reasoner)
        if manifest is not None:
            progress(f"build/ is up to date with the sources ({project.out}); nothing to do")
            return Outcome(built=False, manifest=manifest)
    from kg.cache import Cache, default_directory

    stages = Cache(cache_dir or default_directory(project.out), read=cache)
    with collector_paused():
        return run_pipeline(project, progress, reasoner, stages)


# What each cached stage is called in the progress lines.
CACHED_AS = {"validate": "validation", "reason": "closure", "explain": "derivations",
             "docs": "docs", "jsonld": "JSON-LD", "release": "release"}
INFERRED_NT = "cytokg-inferred.nt"


def run_pipeline(project: Project, progress: Progress, reasoner: str,
                 cache: Cache | None = None) -> Outcome:
    """Load, validate (in a child process), reason, render and write the release.

    With a cache, the whole release is reused when every input file is unchanged; otherwise
    each of validation, closure, derivations, documentation and JSON-LD is reused when the
    part of the graph it reads is unchanged (see the keys below), and the rest is made anew.
    """
    from kg.cache import Cache

    cache = cache if cache is not None else Cache(None)
    digest, inputs = sources_hash(project, reasoner)
    release_key = cache.key("release", inputs=inputs, reasoner=reasoner)
    whole = cache.get("release", release_key)
    if whole is not None:
        return restore_release(project, progress, whole, cache)

    from kg.cache import digest as sha
    from kg.docs import start_docs
    from kg.examples import example_files
    from kg.parallel import Background
    from kg.reason import logical_part
    from kg.release import DOCS, JSONLD, Release, docs_source, render, write_files
    from kg.triples import nt_document, nt_line_map

    sources = load_stage(project, progress)
    lines = nt_line_map(sources.triples)
    asserted_nt = nt_document(lines.values())  # the quality checks load it; the release has it
    asserted = sha(asserted_nt)
    keys = {"release": release_key, "validate": cache.key(
        "validate", asserted=asserted, **validation_inputs(project, inputs))}
    report = cached_report(cache, keys["validate"])
    validation = (None if report is not None else
                  Background("validation", validate_sources, project, sources, asserted_nt, True))
    docs = explaining = None
    try:
        tbox = docs_source(sources.triples, sources.prefixes)
        keys["docs"] = cache.key("docs", tbox=sha(tbox))
        # pyLODE documents the TBox in its own process meanwhile, unless its page is cached.
        docs = cached_file(cache, "docs", keys["docs"], DOCS) or start_docs(tbox)
        started = time.perf_counter()
        base = logical_part(sources.triples)  # all that the closure depends on
        keys["reason"] = cache.key("reason", base=sha(nt_document(lines[t] for t in base)),
                                   reasoner=reasoner)
        closure, inferred_nt = reason_stage(cache, keys["reason"], sources, base, reasoner)
        reasoned = time.perf_counter()
        inferred = sha(inferred_nt)
        keys["explain"] = cache.key("explain", asserted=asserted, inferred=inferred)
        # Derived in a forked child, beside the rendering below, unless cached.
        explaining = explain_stage(cache, keys["explain"], sources, closure)
        if validation is not None and validation.ready():  # a failure stops the build here
            validation.result()
        context_bytes = (project.ontology / CONTEXT_FILE).read_bytes()
        context = json.loads(context_bytes.decode("utf-8"))
        keys["jsonld"] = cache.key("jsonld", asserted=asserted, inferred=inferred,
                                   context=sha(context_bytes))
        manifest = release_manifest(digest, inputs, reasoner, sources, closure)
        files = render(Release(sources.triples, closure.triples, sources.prefixes, context,
                               manifest), docs, asserted_nt, inferred_nt,
                       cached_file(cache, "jsonld", keys["jsonld"], JSONLD))
        derivations = explaining.result()  # fails on an inferred triple it cannot derive
        files[DERIVATIONS] = derivations.data
        files.update(example_files(project.queries, sources.triples))  # kg.examples
    except Exception:
        if validation is not None:  # a failed validation comes first, as when run in turn
            validation.result()
        raise
    except BaseException:
        if validation is not None:
            validation.cancel()
        raise
    finally:
        if explaining is not None:
            explaining.cancel()
        if (docs is not None and not isinstance(docs, bytes)
                and docs.poll() is None):  # a failure must not leave pyLODE running
            docs.kill()
            docs.communicate()
    validate_seconds = 0.0
    if validation is not None:
        report, validate_seconds = validation.result()
    Stage("validate", progress).done(validated(report) + cache_note(cache, "validate"),
                                     validate_seconds)
    Stage("reason", progress).done(
        f"{reasoner} produced {closure.produced} triples, kept {closure.kept} "
        f"(dropped {closure.produced - closure.kept} as noise); explained them in "
        f"{derivations.steps} derivation steps ({len(derivations.data)} bytes, "
        f"{derivations.seconds:.2f} s){cache_note(cache, 'reason', 'explain')}",
        reasoned - started + derivations.seconds)
    with Stage("release", progress) as stage:
        written = write_files(files, manifest, project.out)
        store_stages(cache, keys, written, manifest, report, closure, derivations, project.out)
        # Rendering ran beside the derivations (reported with reasoning): wall time from there.
        stage.done(f"{len(written)} files written to {project.out}"
                   f"{cache_note(cache, 'docs', 'jsonld', 'release')}",
                   time.perf_counter() - reasoned)
    return Outcome(built=True, manifest=json.loads(written[MANIFEST]))


def validation_inputs(project: Project, inputs: dict[str, str]) -> dict[str, object]:
    """What validation reads besides the asserted graph: every input file but the data tables.

    That is the shapes, the checks and the files the messages' prefixes come from; a table
    reaches validation only as asserted triples, which the key covers by their own hash.
    """
    tables = (project.ontology / DATA_DIR).relative_to(project.root).as_posix() + "/"
    return {"files": {name: sha for name, sha in inputs.items() if not name.startswith(tables)}}


def cached_report(cache: Cache, key: str) -> Report | None:
    """The report of a validation that passed on the same inputs, if the cache holds it."""
    from kg.validate import Report

    entry = cache.get("validate", key)
    return None if entry is None else Report(entry.meta["shapes"], entry.meta["checks"])


def cached_file(cache: Cache, stage: str, key: str, name: str) -> bytes | None:
    """The one file a stage makes, if the cache holds it for these inputs."""
    entry = cache.get(stage, key)
    return None if entry is None else entry.files[name]


def reason_stage(cache: Cache, key: str, sources: Sources, base: set, reasoner: str
                 ) -> tuple[Closure, bytes]:
    """The closure and its canonical N-Triples: reused from the cache, or reasoned now."""
    from kg.reason import Closure, close
    from kg.release import ntriples
    from kg.triples import parse_ntriples

    entry = cache.get("reason", key)
    if entry is None:
        closure = close(sources.triples, reasoner, base)
        return closure, ntriples(closure.triples)
    start = time.perf_counter()
    data = entry.files[INFERRED_NT]
    # The asserted graph's own term objects, so that set operations match them by identity.
    held = {term: term for triple in sources.triples for term in triple}
    triples = parse_ntriples(data, held)
    return Closure(triples=triples, produced=entry.meta["produced"], kept=len(triples),
                   seconds=time.perf_counter() - start), data


def explain_stage(cache: Cache, key: str, sources: Sources, closure: Closure) -> Background:
    """One derivation step per inferred triple: reused from the cache, or derived in a child.

    The derivations need only the graphs, and the rendering of the release does not need
    them: the two run side by side.
    """
    from kg.derive import Derivations, derive
    from kg.parallel import Background, Done

    entry = cache.get("explain", key)
    if entry is None:
        return Background("derivations", derive, sources.triples, closure.triples)
    return Done(Derivations(entry.files[DERIVATIONS], entry.meta["steps"], 0.0))


def store_stages(cache: Cache, keys: dict[str, str], written: dict[str, bytes], manifest: dict,
                 report: Report, closure: Closure, derivations: Derivations, out: Path) -> None:
    """Store what each stage made, hard-linking the release files just written (no copies)."""
    from kg.release import DOCS, JSONLD

    links = {name: out / name for name in written}

    def put(stage: str, names: tuple[str, ...], meta: dict | None = None) -> None:
        cache.put(stage, keys[stage], {name: written[name] for name in names}, meta, links)

    put("validate", (), {"shapes": report.shapes, "checks": report.checks})
    put("reason", (INFERRED_NT,), {"produced": closure.produced, "kept": closure.kept})
    put("explain", (DERIVATIONS,), {"steps": derivations.steps})
    put("docs", (DOCS,))
    put("jsonld", (JSONLD,))
    put("release", tuple(written), {"manifest": manifest})


def restore_release(project: Project, progress: Progress, entry: Entry, cache: Cache
                    ) -> Outcome:
    """Write a release reused whole from the cache: every input is as when it was stored.

    The entry holds the manifest too, so nothing is rendered and no RDF library is imported.
    """
    from kg.cache import materialise

    note = cache_note(cache, "release")
    for name in ("load", "validate", "reason"):
        Stage(name, progress).done(f"skipped: the release of these inputs is cached{note}", 0.0)
    with Stage("release", progress) as stage:
        try:
            materialise(entry.files, project.out, last=MANIFEST)
        except OSError as exc:
            raise BuildError(f"cannot write the release to {project.out} ({exc.strerror or exc});"
                             " the previous release is unchanged") from exc
        stage.done(f"{len(entry.files)} files written to {project.out}{note}")
    return Outcome(built=True, manifest=json.loads(entry.files[MANIFEST]))


def cache_note(cache: Cache, *stages: str) -> str:
    """Say, for a progress line, which stages' outputs came from the cache."""
    if cache.directory is None:
        return ""
    return "; cache: " + ", ".join(f"{CACHED_AS[s]} {cache.events.get(s, 'computed')}"
                                   for s in stages)


def release_manifest(digest: str, inputs: dict[str, str], reasoner: str, sources: Sources,
                     closure: Closure) -> dict:
    """What the manifest says about the release before the files' hashes are added."""
    asserted = sources.triples
    return {
        "name": "cytokg",
        "version": __version__,
        "ontology_iri": "https://w3id.org/cytokg/cytokg.owl",
        "version_iri": f"https://w3id.org/cytokg/releases/{__version__}/cytokg.owl",
        "sources_hash": digest,
        "inputs": inputs,
        "reasoner": f"{reasoner} {reasoner_version(reasoner)}",
        "counts": {
            "asserted": len(asserted),
            "inferred": closure.kept,
            "full": len(asserted) + sum(1 for t in closure.triples if t not in asserted),
            "reasoner_produced": closure.produced,
        },
    }
