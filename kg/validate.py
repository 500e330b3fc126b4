"""Validate the asserted graph: SHACL shapes (pySHACL) and quality checks that must return no rows.

SHACL results are read from the validation report (SHACL, section 3.6: sh:focusNode,
sh:resultPath, sh:resultMessage). Each quality check is a SPARQL SELECT in
`queries/checks/*-violation.rq`, as in ODK-built OBO projects: every row it returns is an offender.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pyoxigraph
import pyshacl
from rdflib import Graph
from rdflib.namespace import SH

from kg.errors import BuildError

CHECK_SUFFIX = "-violation.rq"


@dataclass
class Report:
    """How much was checked, for the build's progress line."""

    shapes: int
    checks: int


def check_files(checks_dir: Path) -> list[Path]:
    """List the quality-check queries in a stable order."""
    return sorted(checks_dir.glob(f"*{CHECK_SUFFIX}"))


def validate(graph: Graph, shapes: Graph, checks_dir: Path, compress=str) -> Report:
    """Run SHACL and every quality check, raising one BuildError that lists every offender."""
    problems = shacl_problems(graph, shapes, compress)
    checks = check_files(checks_dir)
    if checks:
        store = oxigraph_copy(graph)
        for path in checks:
            problems.extend(check_problems(store, path, compress))
    if problems:
        raise BuildError(f"validation failed: {len(problems)} problem(s)", problems)
    return Report(shapes=len(set(shapes.subjects(SH.targetClass, None))
                             | set(shapes.subjects(SH.targetNode, None))
                             | set(shapes.subjects(SH.targetSubjectsOf, None))
                             | set(shapes.subjects(SH.targetObjectsOf, None))),
                  checks=len(checks))


def shacl_problems(graph: Graph, shapes: Graph, compress=str) -> list[str]:
    """Validate with pySHACL and describe each result by focus node, path and message."""
    if len(shapes) == 0:
        return []
    conforms, report, _ = pyshacl.validate(graph, shacl_graph=shapes, inference="none",
                                           advanced=True, allow_warnings=True)
    if conforms:
        return []
    problems = []
    for result in report.subjects(SH.focusNode, None):
        focus = report.value(result, SH.focusNode)
        path = report.value(result, SH.resultPath)
        message = report.value(result, SH.resultMessage)
        value = report.value(result, SH.value)
        text = f"SHACL: focus {compress(str(focus))}"
        if path is not None:
            text += f", path {compress(str(path))}"
        if value is not None:
            text += f", value {compress(str(value))}"
        problems.append(f"{text}: {message}")
    return sorted(problems)


def oxigraph_copy(graph: Graph) -> pyoxigraph.Store:
    """Load the graph into pyoxigraph, whose SPARQL engine runs the checks many times faster."""
    store = pyoxigraph.Store()
    store.bulk_load(graph.serialize(format="nt", encoding="utf-8"),
                    format=pyoxigraph.RdfFormat.N_TRIPLES)
    return store


def check_problems(store: pyoxigraph.Store, path: Path, compress=str) -> list[str]:
    """Run one quality-check query; each row it returns is a problem named after the check."""
    name = path.name.removesuffix(CHECK_SUFFIX)
    try:
        result = store.query(path.read_text(encoding="utf-8"))
    except SyntaxError as exc:
        raise BuildError(f"{path}: the check query is malformed: {exc}") from None
    if not isinstance(result, pyoxigraph.QuerySolutions):
        raise BuildError(f"{path}: a check must be a SELECT query")
    variables = [v.value for v in result.variables]
    problems = []
    for row in result:
        cells = [f"{var}={compress(term.value)}" for var, term in zip(variables, row, strict=True)
                 if term is not None]
        problems.append(f"{name}: {', '.join(cells)}")
    return sorted(problems)
