"""The pipeline: load -> validate -> reason -> release, skipped when the release is up to date."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

from kg import __version__
from kg.reason import DEFAULT_ENGINE, close
from kg.release import Release, read_manifest, release_intact, write_release
from kg.sources import CONTEXT_FILE, Sources, load, source_files
from kg.validate import check_files, validate
from kg.vocab import converter

Progress = Callable[[str], None]
# The code that shapes the release: a change to it must invalidate an up-to-date release.
PIPELINE_MODULES = ("sources", "validate", "reason", "rules", "release", "mappings", "docs",
                    "stats", "vocab", "build")


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

    def done(self, summary: str) -> None:
        """Print the stage's counts with its elapsed time."""
        elapsed = time.perf_counter() - self.start
        self.progress(f"{self.name:<9} {summary} ({elapsed:.2f} s)")

    def __exit__(self, *exc: object) -> None:
        return None


def load_and_validate(project: Project, progress: Progress) -> Sources:
    """Load the sources and validate them: the first two stages, shared by build and validate."""
    with Stage("load", progress) as stage:
        sources = load(project.ontology)
        stage.done(f"{len(sources.graph)} asserted triples from {len(sources.files)} files")
    with Stage("validate", progress) as stage:
        conv = converter(sources.prefixes)
        report = validate(sources.graph, sources.shapes, project.checks,
                          compress=lambda iri: conv.compress(iri, passthrough=True))
        stage.done(f"{report.shapes} SHACL shapes and {report.checks} quality checks passed")
    return sources


def build(project: Project, progress: Progress = print, force: bool = False,
          reasoner: str = DEFAULT_ENGINE) -> Outcome:
    """Run the whole pipeline unless the release is already up to date."""
    if not force:
        manifest = up_to_date(project, reasoner)
        if manifest is not None:
            progress(f"build/ is up to date with the sources ({project.out}); nothing to do")
            return Outcome(built=False, manifest=manifest)
    digest, inputs = sources_hash(project, reasoner)
    sources = load_and_validate(project, progress)
    with Stage("reason", progress) as stage:
        closure = close(sources.graph, reasoner)
        stage.done(f"{reasoner} produced {closure.produced} triples, kept {closure.kept} "
                   f"(dropped {closure.produced - closure.kept} as noise)")
    with Stage("release", progress) as stage:
        context = json.loads((project.ontology / CONTEXT_FILE).read_text(encoding="utf-8"))
        manifest = {
            "name": "cytokg",
            "version": __version__,
            "ontology_iri": "https://w3id.org/cytokg/cytokg.owl",
            "version_iri": f"https://w3id.org/cytokg/releases/{__version__}/cytokg.owl",
            "sources_hash": digest,
            "inputs": inputs,
            "reasoner": f"{reasoner} {reasoner_version(reasoner)}",
            "counts": {
                "asserted": len(sources.graph),
                "inferred": closure.kept,
                "full": len(set(sources.graph) | set(closure.inferred)),
                "reasoner_produced": closure.produced,
            },
        }
        files = write_release(Release(sources.graph, closure.inferred, sources.prefixes,
                                      context, manifest), project.out)
        stage.done(f"{len(files)} files written to {project.out}")
    return Outcome(built=True, manifest=json.loads(files["manifest.json"]))
