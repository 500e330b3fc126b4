"""The pipeline: load -> validate -> reason -> release, skipped when the release is up to date.

Validation (pySHACL and the quality checks) runs in a forked child process while this process
reasons and renders the release in memory, so the two cores of a small machine share the
work (the JSON-LD document and the ontology documentation are made in child processes too);
nothing is written until validation has passed, and a failed validation is the error
reported. The stage modules are imported only by a build that has work to do, so a build (or
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
from kg.layout import (
    CONTEXT_FILE,
    DEFAULT_ENGINE,
    DERIVATIONS,
    check_files,
    read_manifest,
    release_intact,
    source_files,
)

if TYPE_CHECKING:
    from kg.reason import Closure
    from kg.sources import Sources
    from kg.validate import Report

Progress = Callable[[str], None]
# The code that shapes the release: a change to it must invalidate an up-to-date release.
PIPELINE_MODULES = ("sources", "validate", "reason", "rules", "release", "mappings", "docs",
                    "stats", "vocab", "build", "layout", "triples", "parallel", "derive")


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

    def inputs(self) -> list[Path]:
        """Every file whose content decides the release."""
        return source_files(self.ontology) + check_files(self.checks)


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
          reasoner: str = DEFAULT_ENGINE) -> Outcome:
    """Run the whole pipeline unless the release is already up to date."""
    if not force:
        manifest = up_to_date(project, reasoner)
        if manifest is not None:
            progress(f"build/ is up to date with the sources ({project.out}); nothing to do")
            return Outcome(built=False, manifest=manifest)
    with collector_paused():
        return run_pipeline(project, progress, reasoner)


def run_pipeline(project: Project, progress: Progress, reasoner: str) -> Outcome:
    """Load, validate (in a child process), reason, render and write the release."""
    from kg.derive import derive
    from kg.docs import start_docs
    from kg.parallel import Background
    from kg.reason import close
    from kg.release import Release, docs_source, ntriples, render, write_files

    digest, inputs = sources_hash(project, reasoner)
    sources = load_stage(project, progress)
    asserted_nt = ntriples(sources.triples)  # the quality checks load it, and the release has it
    validation = Background("validation", validate_sources, project, sources, asserted_nt, True)
    docs = None
    try:
        # pyLODE documents the TBox in its own process meanwhile.
        docs = start_docs(docs_source(sources.triples, sources.prefixes))
        started = time.perf_counter()
        closure = close(sources.triples, reasoner)
        reasoned = time.perf_counter()
        derivations = derive(sources.triples, closure.triples)  # fails on an underived triple
        if validation.ready():  # a failed validation stops the build before the release
            validation.result()
        context = json.loads((project.ontology / CONTEXT_FILE).read_text(encoding="utf-8"))
        manifest = release_manifest(digest, inputs, reasoner, sources, closure)
        files = render(Release(sources.triples, closure.triples, sources.prefixes, context,
                               manifest), docs, asserted_nt)
        files[DERIVATIONS] = derivations.data
        rendered = time.perf_counter()
    except Exception:
        validation.result()  # a failed validation comes first, as when the stages ran in turn
        raise
    except BaseException:
        validation.cancel()
        raise
    finally:
        if docs is not None and docs.poll() is None:  # a failure must not leave pyLODE running
            docs.kill()
            docs.communicate()
    report, validate_seconds = validation.result()
    Stage("validate", progress).done(validated(report), validate_seconds)
    Stage("reason", progress).done(
        f"{reasoner} produced {closure.produced} triples, kept {closure.kept} "
        f"(dropped {closure.produced - closure.kept} as noise); explained them in "
        f"{derivations.steps} derivation steps ({len(derivations.data)} bytes, "
        f"{derivations.seconds:.2f} s)", reasoned - started + derivations.seconds)
    with Stage("release", progress) as stage:
        written = write_files(files, manifest, project.out)
        stage.done(f"{len(written)} files written to {project.out}",
                   rendered - reasoned - derivations.seconds + time.perf_counter()
                   - stage.start)
    return Outcome(built=True, manifest=json.loads(written["manifest.json"]))


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
