"""Validate the asserted graph: SHACL shapes (pySHACL) and quality checks that must return no rows.

SHACL results are read from the validation report (SHACL, section 3.6: sh:focusNode,
sh:resultPath, sh:resultMessage). Each quality check is a SPARQL SELECT in
`queries/checks/*-violation.rq`, as in ODK-built OBO projects: every row it returns is an offender.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pyoxigraph
from rdflib import Graph
from rdflib.namespace import OWL, RDF, RDFS, SH

from kg.errors import BuildError
from kg.layout import CHECK_SUFFIX, check_files
from kg.triples import graph_over, nt_document, nt_lines

TARGETS = (SH.targetClass, SH.targetNode, SH.targetSubjectsOf, SH.targetObjectsOf)
# Shape parameters that read a node shape's sh:property list as a whole (sh:closed reads the
# paths it allows from it), or that may hand its shapes to SPARQL: such shapes stay as written.
WHOLE_SHAPE_PARAMETERS = (SH.closed, SH.ignoredProperties, SH.sparql, SH.rule, SH.target)


@dataclass
class Report:
    """How much was checked, for the build's progress line."""

    shapes: int
    checks: int


def validate(graph: Graph, shapes: Graph, checks_dir: Path, compress=str,
             ntriples: bytes | None = None, in_place: bool = False) -> Report:
    """Run SHACL and every quality check, raising one BuildError that lists every offender.

    `ntriples`, when the caller has it already, is the graph as N-Triples for the checks;
    `in_place` lets pySHACL work on `graph` itself, for a caller that has no further use of it.
    """
    problems = shacl_problems(graph, shapes, compress, in_place)
    checks = check_files(checks_dir)
    if checks:
        store = oxigraph_copy(ntriples if ntriples is not None else nt_document(nt_lines(graph)))
        for path in checks:
            problems.extend(check_problems(store, path, compress))
    if problems:
        raise BuildError(f"validation failed: {len(problems)} problem(s)", problems)
    return Report(shapes=len(set(shapes.subjects(SH.targetClass, None))
                             | set(shapes.subjects(SH.targetNode, None))
                             | set(shapes.subjects(SH.targetSubjectsOf, None))
                             | set(shapes.subjects(SH.targetObjectsOf, None))),
                  checks=len(checks))


def shacl_problems(graph: Graph, shapes: Graph, compress=str, in_place: bool = False
                   ) -> list[str]:
    """Validate with pySHACL and describe each result by focus node, path and message."""
    if len(shapes) == 0:
        return []
    import pyshacl  # a second of imports, paid only by a build that validates

    # Unless the caller gives its graph up, pySHACL works on a copy over a fast index with the
    # graph's prefixes (which its messages use), as it would on the copy it makes itself.
    data = graph if in_place else graph_over(graph, dict(graph.namespaces()))
    conforms, report, _ = pyshacl.validate(data, shacl_graph=targeted(shapes), inference="none",
                                           advanced=True, allow_warnings=True, inplace=True)
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


def targeted(shapes: Graph) -> Graph:
    """Give each property shape of a targeted node shape the node shape's targets directly.

    A node shape's `sh:property` P asks that every focus node of the shape conform to P, which
    is what P with the same targets asks (SHACL, sections 2.1.3 and 4.8.2), with the same
    results (focus node, path, value, message, source shape P). pySHACL checks a property
    shape reached through `sh:property` once per focus node, but one with targets once for all
    of them: the same results, several times faster. Only node shapes whose property list
    nothing else reads are rewritten, and only property shapes used once without targets.
    """
    rewritten = Graph()
    for prefix, namespace in shapes.namespaces():  # pySHACL's messages name terms with them
        rewritten.bind(prefix, namespace, override=True, replace=True)
    for triple in shapes:
        rewritten.add(triple)
    referenced = set(shapes.objects())
    for node in set(shapes.subjects(SH.property, None)):
        targets = [(p, o) for p in TARGETS for o in shapes.objects(node, p)]
        if not targets or node in referenced or not rewritable(shapes, node):
            continue
        for prop in list(shapes.objects(node, SH.property)):
            if (len(set(shapes.subjects(None, prop))) != 1
                    or any((prop, p, None) in shapes for p in TARGETS)
                    or (prop, RDF.type, SH.NodeShape) in shapes):
                continue
            rewritten.remove((node, SH.property, prop))
            for predicate, target in targets:
                rewritten.add((prop, predicate, target))
    return rewritten


def rewritable(shapes: Graph, node: object) -> bool:
    """Tell whether a node shape's property list may move onto its property shapes.

    Not when the shape is deactivated, closed, uses SPARQL or rules, is a property shape (whose
    property shapes apply to its value nodes, not its focus nodes), or is also a class (whose
    implicit class target would not move with the explicit ones).
    """
    if any((node, p, None) in shapes
           for p in (*WHOLE_SHAPE_PARAMETERS, SH.deactivated, SH.path)):
        return False
    return not any((node, RDF.type, cls) in shapes for cls in (RDFS.Class, OWL.Class))


def oxigraph_copy(ntriples: bytes) -> pyoxigraph.Store:
    """Load the graph (as N-Triples) into pyoxigraph, whose SPARQL engine runs the checks fast."""
    store = pyoxigraph.Store()
    store.bulk_load(ntriples, format=pyoxigraph.RdfFormat.N_TRIPLES)
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
