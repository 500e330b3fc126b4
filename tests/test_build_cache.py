"""The stage cache of `cytokg build`: reused outputs give the same bytes; damage is never served."""

from __future__ import annotations

import json
import re
from pathlib import Path

from support import build_in_fresh_process, run_cli

from kg.build import Project

STAGE_EVENT = re.compile(r"\b(validation|closure|derivations|docs|JSON-LD|release) "
                         r"(reused|computed|recomputed)\b")


def snapshot(directory: Path) -> dict[str, bytes]:
    """Read every file of a release directory."""
    return {p.relative_to(directory).as_posix(): p.read_bytes()
            for p in sorted(directory.rglob("*")) if p.is_file()}


def cytokg_build(project: Project, out: Path, cache: Path, *options: str) -> dict[str, str]:
    """Run `cytokg build` with a cache directory; return what each cached stage did."""
    result = run_cli("--root", str(project.root), "--out", str(out), "build",
                     "--cache-dir", str(cache), *options)
    assert result.returncode == 0, result.stderr
    return dict(STAGE_EVENT.findall(result.stderr))


def reference(project: Project, tmp_path: Path, name: str) -> dict[str, bytes]:
    """A release of the project built with no cache at all (its own, empty, never read)."""
    out = tmp_path / f"{name}-release"
    events = cytokg_build(project, out, tmp_path / f"{name}-cache", "--force", "--no-cache")
    assert set(events.values()) == {"computed"}, events
    return snapshot(out)


def entry_files(cache: Path, stage: str) -> list[Path]:
    """The files of the one entry a stage has in the cache."""
    entries = [p for p in (cache / stage).iterdir() if p.is_dir() and not p.name.startswith(".")]
    assert len(entries) == 1, entries
    return [p for p in entries[0].rglob("*") if p.is_file() and p.name != "index.json"]


def test_forced_build_from_the_cache_equals_a_build_without_it(mini: Project,
                                                               tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    cold = cytokg_build(mini, mini.out, cache, "--force", "--no-cache")
    assert cold == {"validation": "computed", "closure": "computed", "derivations": "computed",
                    "docs": "computed", "JSON-LD": "computed", "release": "computed"}
    built = snapshot(mini.out)
    assert "manifest.json" in built and not any(name.startswith(".") for name in built)
    warm = cytokg_build(mini, mini.out, cache, "--force")
    assert warm == {"release": "reused"}
    assert snapshot(mini.out) == built
    elsewhere = tmp_path / "elsewhere"  # the key is the inputs, not the release directory
    assert cytokg_build(mini, elsewhere, cache, "--force") == {"release": "reused"}
    assert snapshot(elsewhere) == built
    # --no-cache reads nothing from a full cache, and still makes the same bytes.
    again = cytokg_build(mini, mini.out, cache, "--force", "--no-cache")
    assert set(again.values()) == {"computed"}
    assert snapshot(mini.out) == built


def test_an_edited_definition_reruns_only_the_stages_that_read_it(mini: Project,
                                                                   tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    cytokg_build(mini, mini.out, cache, "--force", "--no-cache")
    table = mini.ontology / "data" / "cells.tsv"
    table.write_text(table.read_text().replace("A phagocytic tissue cell.",
                                               "A phagocyte resident in tissues."))
    events = cytokg_build(mini, mini.out, cache, "--force")
    # A definition is an annotation: the reasoner never sees it, and a data table is not
    # part of the TBox that the documentation describes.
    assert events == {"validation": "computed", "closure": "reused", "derivations": "computed",
                      "docs": "reused", "JSON-LD": "computed", "release": "computed"}
    changed = snapshot(mini.out)
    assert b"A phagocyte resident in tissues." in changed["cytokg-asserted.nt"]
    assert changed == reference(mini, tmp_path, "definition")


def test_a_new_fact_reruns_reasoning_but_not_the_documentation(mini: Project,
                                                               tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    cytokg_build(mini, mini.out, cache, "--force", "--no-cache")
    before = json.loads((mini.out / "manifest.json").read_text())["counts"]
    table = mini.ontology / "data" / "statements.tsv"
    header = table.read_text().splitlines()[0].split("\t")
    row = {"subject": "IL6", "property": "cytokg:producedBy", "object": "TLymphocyte",
           "source": "Article"}
    table.write_text(table.read_text().rstrip("\n") + "\n"
                     + "\t".join(row[column] for column in header) + "\n")
    events = cytokg_build(mini, mini.out, cache, "--force")
    assert events == {"validation": "computed", "closure": "computed", "derivations": "computed",
                      "docs": "reused", "JSON-LD": "computed", "release": "computed"}
    after = json.loads((mini.out / "manifest.json").read_text())["counts"]
    assert after["asserted"] > before["asserted"] and after["inferred"] != before["inferred"]
    assert snapshot(mini.out) == reference(mini, tmp_path, "fact")


def test_a_damaged_cache_entry_is_detected_and_rebuilt_never_served(mini: Project,
                                                                   tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    cytokg_build(mini, mini.out, cache, "--force", "--no-cache")
    expected = reference(mini, tmp_path, "intact")
    # Same size, one byte changed: only the hash can tell.
    turtle = next(p for p in entry_files(cache, "release") if p.name == "cytokg.ttl")
    data = bytearray(turtle.read_bytes())
    data[len(data) // 2] ^= 0x01
    turtle.unlink()  # a new file, so the release written beside it is not touched
    turtle.write_bytes(bytes(data))
    # Cut short: the size tells.
    inferred = entry_files(cache, "reason")[0]
    short = inferred.read_bytes()[:-10]
    inferred.unlink()
    inferred.write_bytes(short)
    # An index that is not JSON.
    docs_index = next((cache / "docs").glob("*/index.json"))
    docs_index.write_text("{ not json")
    events = cytokg_build(mini, mini.out, cache, "--force")
    assert events["release"] == "recomputed"
    assert events["closure"] == "recomputed"
    assert events["docs"] == "recomputed"
    assert events["validation"] == "reused" and events["JSON-LD"] == "reused"
    assert snapshot(mini.out) == expected
    # The entries were stored again, whole: the next build reuses the release.
    assert cytokg_build(mini, mini.out, cache, "--force") == {"release": "reused"}
    assert snapshot(mini.out) == expected


def test_a_release_reused_whole_is_written_without_the_rdf_libraries(mini: Project,
                                                                     tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    cytokg_build(mini, mini.out, cache, "--force", "--no-cache")
    built = snapshot(mini.out)
    (mini.out / "cytokg.ttl").unlink()  # the cache, not the release directory, is read
    result = build_in_fresh_process(mini.root, mini.out, progress="print",
                                    options=f"force=True, cache_dir=Path({str(cache)!r})")
    assert result.returncode == 0, result.stderr
    assert "release reused" in result.stdout
    assert result.stdout.strip().splitlines()[-1] == "True []"
    assert snapshot(mini.out) == built
