"""The pipeline end to end on the tiny fixture: files, determinism, up-to-date skips, atomicity."""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path

import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import RDF
from support import build_in_fresh_process, run_cli

from kg import release
from kg.build import Project, build
from kg.errors import BuildError
from kg.release import digest
from kg.vocab import CYTOKG, VOID

RELEASE_FILES = {
    "cytokg-asserted.ttl", "cytokg-asserted.nt", "cytokg-inferred.ttl", "cytokg-inferred.nt",
    "cytokg.ttl", "cytokg.nt", "cytokg.jsonld", "cytokg.owl", "void.ttl", "manifest.json",
    "context.jsonld", "cytokg.sssom.tsv", "docs/index.html", "overview.svg", "derivations.jsonl",
}
IL2 = CYTOKG.IL2
LYMPHOKINE = CYTOKG.Lymphokine


def snapshot(directory: Path) -> dict[str, bytes]:
    """Read every file of a release directory."""
    return {p.relative_to(directory).as_posix(): p.read_bytes()
            for p in sorted(directory.rglob("*")) if p.is_file()}


def test_build_writes_every_release_file(mini_built: Project) -> None:
    assert set(snapshot(mini_built.out)) == RELEASE_FILES


def test_release_formats_parse_to_the_same_full_graph(mini_built: Project) -> None:
    reference = Graph().parse(mini_built.out / "cytokg.nt", format="nt")
    for name, fmt in (("cytokg.ttl", "turtle"), ("cytokg.jsonld", "json-ld"),
                      ("cytokg.owl", "xml")):
        graph = Graph().parse(mini_built.out / name, format=fmt)
        assert len(graph) == len(reference), name
        assert (IL2, RDF.type, LYMPHOKINE) in graph, name


def test_jsonld_is_compacted_with_the_published_context(mini_built: Project) -> None:
    document = json.loads((mini_built.out / "cytokg.jsonld").read_text())
    assert document["@context"]["cytokg"] == str(CYTOKG)
    ids = {node.get("@id") for node in document["@graph"]}
    assert "cytokg:IL2" in ids


def test_full_graph_is_asserted_plus_inferred(mini_built: Project) -> None:
    # Blank node labels are stable across files, so the N-Triples lines compare directly.
    lines = {name: set((mini_built.out / name).read_text().splitlines())
             for name in ("cytokg-asserted.nt", "cytokg-inferred.nt", "cytokg.nt")}
    assert lines["cytokg.nt"] == lines["cytokg-asserted.nt"] | lines["cytokg-inferred.nt"]
    assert not lines["cytokg-asserted.nt"] & lines["cytokg-inferred.nt"]


def test_manifest_lists_the_hash_of_every_file(mini_built: Project) -> None:
    manifest = json.loads((mini_built.out / "manifest.json").read_text())
    assert set(manifest["files"]) == RELEASE_FILES - {"manifest.json"}
    for name, entry in manifest["files"].items():
        assert entry["sha256"] == digest((mini_built.out / name).read_bytes()), name
    assert manifest["version"] == "0.1.0"
    assert len(manifest["sources_hash"]) == 64
    assert manifest["counts"]["full"] == manifest["counts"]["asserted"] + manifest["counts"][
        "inferred"]


def test_void_counts_match_the_full_graph(mini_built: Project) -> None:
    void = Graph().parse(mini_built.out / "void.ttl", format="turtle")
    full = Graph().parse(mini_built.out / "cytokg.nt", format="nt")
    dataset = URIRef("https://w3id.org/cytokg/dataset")
    assert (dataset, RDF.type, VOID.Dataset) in void
    assert void.value(dataset, VOID.triples) == Literal(len(full))
    assert void.value(dataset, VOID.properties) == Literal(len(set(full.predicates())))
    targets = set(void.objects(None, VOID.objectsTarget))
    assert {URIRef("https://bioregistry.io/registry/cl"),
            URIRef("https://bioregistry.io/registry/uniprotkb")} <= targets


def test_same_sources_give_byte_identical_files(mini: Project, tmp_path: Path) -> None:
    outputs = []
    for seed in ("1", "2"):
        out = tmp_path / f"out{seed}"
        env = {**os.environ, "PYTHONHASHSEED": seed}
        result = run_cli("--root", str(mini.root), "--out", str(out), "build", env=env)
        assert result.returncode == 0, result.stderr
        outputs.append(snapshot(out))
    assert outputs[0] == outputs[1]


def test_second_build_with_unchanged_sources_does_no_work(mini: Project) -> None:
    first = run_cli("--root", str(mini.root), "build")
    assert first.returncode == 0, first.stderr
    for stage in ("load", "validate", "reason", "release"):
        assert stage in first.stderr
    stamps = {p.name: p.stat().st_mtime_ns for p in mini.out.rglob("*")}
    second = run_cli("--root", str(mini.root), "build")
    assert second.returncode == 0
    assert "up to date" in second.stderr
    assert "reason" not in second.stderr
    assert {p.name: p.stat().st_mtime_ns for p in mini.out.rglob("*")} == stamps


def test_changed_source_triggers_a_rebuild(mini_built: Project) -> None:
    table = mini_built.ontology / "data" / "cells.tsv"
    table.write_text(table.read_text().replace("A phagocytic tissue cell.",
                                               "A phagocyte resident in tissues."))
    assert build(mini_built, progress=lambda _: None).built


def test_failed_build_leaves_the_previous_release_untouched(mini_built: Project) -> None:
    before = snapshot(mini_built.out)
    tbox = mini_built.ontology / "cytokg.ttl"
    tbox.write_text(tbox.read_text() + "\ncytokg:Broken a owl:Class ) .\n")
    with pytest.raises(BuildError):
        build(mini_built, progress=lambda _: None)
    assert snapshot(mini_built.out) == before


def test_disk_full_while_writing_keeps_the_previous_release(
        mini_built: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    before = snapshot(mini_built.out)
    table = mini_built.ontology / "data" / "cells.tsv"
    table.write_text(table.read_text().replace("A phagocytic tissue cell.", "A phagocyte."))
    real_stage = release.stage
    calls = []

    def stage_until_disk_full(directory: Path, name: str, data: bytes) -> Path:
        calls.append(name)
        if len(calls) == 4:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_stage(directory, name, data)

    monkeypatch.setattr(release, "stage", stage_until_disk_full)
    with pytest.raises(OSError):
        build(mini_built, progress=lambda _: None)
    assert snapshot(mini_built.out) == before
    assert not [p for p in mini_built.out.rglob(".*")]


def test_build_reports_each_stage_with_counts_and_times(mini: Project) -> None:
    lines: list[str] = []
    build(mini, progress=lines.append)
    assert [line.split()[0] for line in lines] == ["load", "validate", "reason", "release"]
    assert all(line.endswith(" s)") for line in lines)
    assert "reasonable produced" in lines[2] and "kept 8" in lines[2]


def test_up_to_date_check_imports_no_pipeline_library(mini_built: Project) -> None:
    # `cytokg build` and `cytokg serve` start with this check: it must stay cheap.
    result = build_in_fresh_process(mini_built.root, mini_built.out)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False []"


def test_failed_validation_is_the_error_even_when_reasoning_fails_too(
        mini_built: Project) -> None:
    # Validation runs beside reasoning: its failure must still be the one reported.
    before = snapshot(mini_built.out)
    table = mini_built.ontology / "data" / "cytokines.tsv"
    table.write_text(table.read_text().replace("HGNC:6018", "6018"))
    tbox = mini_built.ontology / "cytokg.ttl"
    tbox.write_text(tbox.read_text() + "\ncytokg:IL6 a owl:Nothing .\n")
    with pytest.raises(BuildError) as error:
        build(mini_built, progress=lambda _: None)
    assert str(error.value).startswith("validation failed")
    assert "SHACL: focus cytokg:IL6, path cytokg:hgncId, value 6018" in str(error.value)
    assert snapshot(mini_built.out) == before
