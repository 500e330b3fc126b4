"""The `cytokg` command, run for real: validate, export, query, and one-line errors."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from rdflib import Graph
from support import run_cli

from kg.build import Project

IL2 = "https://w3id.org/cytokg/IL2"
LYMPHOKINES = """PREFIX cytokg: <https://w3id.org/cytokg/>
SELECT ?c WHERE { ?c a cytokg:Lymphokine }"""


def cli(project: Project, *args: str):
    """Run the command against a fixture project."""
    return run_cli("--root", str(project.root), *args)


def test_validate_passes_on_good_sources(mini: Project) -> None:
    result = cli(mini, "validate")
    assert result.returncode == 0, result.stderr
    assert "valid" in result.stderr
    assert not mini.out.exists()


def test_validate_fails_with_one_message_and_no_traceback(mini: Project) -> None:
    (mini.ontology / "cytokg.ttl").write_text("this is not turtle")
    result = cli(mini, "validate")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith(f"cytokg: error: {mini.ontology / 'cytokg.ttl'}:1: Turtle")


@pytest.mark.parametrize(("fmt", "rdflib_format"), [
    ("turtle", "turtle"), ("nt", "nt"), ("json-ld", "json-ld"), ("xml", "xml")])
@pytest.mark.parametrize("graph", ["asserted", "inferred", "full"])
def test_export_writes_each_graph_in_each_format(mini_built: Project, tmp_path: Path,
                                                 graph: str, fmt: str, rdflib_format: str) -> None:
    target = tmp_path / f"out.{fmt}"
    result = cli(mini_built, "export", "--graph", graph, "--format", fmt, "-o", str(target))
    assert result.returncode == 0, result.stderr
    exported = Graph().parse(target, format=rdflib_format)
    reference = Graph().parse(mini_built.out / {"asserted": "cytokg-asserted.nt",
                                                "inferred": "cytokg-inferred.nt",
                                                "full": "cytokg.nt"}[graph], format="nt")
    assert len(exported) == len(reference)


def test_export_to_stdout(mini_built: Project) -> None:
    result = cli(mini_built, "export", "--graph", "inferred", "--format", "nt")
    assert result.returncode == 0
    assert f"<{IL2}> <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> " \
           "<https://w3id.org/cytokg/Lymphokine> ." in result.stdout.splitlines()


def test_query_table(mini_built: Project) -> None:
    result = cli(mini_built, "query", LYMPHOKINES)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["c", "----------", "cytokg:IL2", "(1 row)"]


def test_query_json(mini_built: Project) -> None:
    result = cli(mini_built, "query", LYMPHOKINES, "--format", "json")
    document = json.loads(result.stdout)
    assert document["head"]["vars"] == ["c"]
    assert document["results"]["bindings"] == [{"c": {"type": "uri", "value": IL2}}]


def test_query_csv_and_tsv(mini_built: Project) -> None:
    result = cli(mini_built, "query", LYMPHOKINES, "--format", "csv")
    assert list(csv.reader(io.StringIO(result.stdout))) == [["c"], [IL2]]
    result = cli(mini_built, "query", LYMPHOKINES, "--format", "tsv")
    assert result.stdout.splitlines() == ["?c", f"<{IL2}>"]


def test_query_from_a_file_over_the_asserted_graph(mini_built: Project, tmp_path: Path) -> None:
    query = tmp_path / "lymphokines.rq"
    query.write_text(LYMPHOKINES)
    full = cli(mini_built, "query", str(query), "--format", "tsv")
    asserted = cli(mini_built, "query", str(query), "--graph", "asserted", "--format", "tsv")
    assert full.stdout.splitlines() == ["?c", f"<{IL2}>"]
    assert asserted.stdout.splitlines() == ["?c"]


def test_query_builds_first_when_needed(mini: Project) -> None:
    result = cli(mini, "query", "ASK { ?s ?p ?o }")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[2] == "true"
    assert (mini.out / "manifest.json").exists()


def test_query_syntax_error_is_one_line(mini_built: Project) -> None:
    result = cli(mini_built, "query", "SELECT ?x WHERE { ?x ")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("cytokg: error: query syntax error")
    assert len(result.stderr.strip().splitlines()) == 1


def test_missing_query_file_is_named(mini_built: Project) -> None:
    result = cli(mini_built, "query", "nowhere.rq")
    assert result.returncode == 1
    assert result.stderr.strip() == "cytokg: error: nowhere.rq: no such query file"


def test_unknown_format_is_refused_by_the_parser(mini_built: Project) -> None:
    result = cli(mini_built, "query", LYMPHOKINES, "--format", "yaml")
    assert result.returncode == 2
    assert "invalid choice: 'yaml'" in result.stderr
