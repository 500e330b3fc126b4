"""HTML documentation of the ontology (its header, classes and properties), made with pyLODE.

pyLODE orders some lists by set iteration: it runs in a child process with a fixed string hash
seed, on canonically labelled blank nodes, with its one address-ordered list sorted, so that the
same ontology always gives the same bytes.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile

from rdflib import Graph
from rdflib.namespace import OWL, RDF

from kg.errors import BuildError
from kg.triples import canonical_labels, relabel

SEED = "0"
TIMEOUT = 300


def start_docs(asserted_turtle: bytes) -> subprocess.Popen:
    """Start rendering the TBox of the asserted graph (given as Turtle) in a child process."""
    env = {**os.environ, "PYTHONHASHSEED": SEED}
    # The input goes through a file, so the child can start without this process feeding it.
    with tempfile.TemporaryFile() as source:
        source.write(asserted_turtle)
        source.seek(0)
        return subprocess.Popen([sys.executable, "-m", "kg.docs"], stdin=source,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)


def finish_docs(child: subprocess.Popen) -> bytes:
    """Collect the child's HTML page, failing the build with pyLODE's last words if it failed."""
    try:
        html, errors = child.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        child.kill()
        child.communicate()
        raise BuildError(f"ontology documentation: pyLODE ran over {TIMEOUT} s") from None
    if child.returncode != 0:
        last = errors.decode("utf-8", "replace").strip().splitlines()[-1:]
        raise BuildError(f"ontology documentation: pyLODE failed: {' '.join(last)}")
    return html


def tbox(graph: Graph) -> Graph:
    """Keep the ontology header and the terms; individuals and axiom annotations are data."""
    data = set(graph.subjects(RDF.type, OWL.NamedIndividual)) | set(
        graph.subjects(RDF.type, OWL.Axiom))
    terms = Graph()
    for prefix, namespace in graph.namespaces():
        terms.bind(prefix, namespace)
    for triple in graph:
        if triple[0] not in data:
            terms.add(triple)
    return terms


def main() -> None:
    """Read Turtle on stdin and write pyLODE's HTML on stdout (the child process)."""
    import pylode.utils
    from pylode import OntPub
    from pylode.utils import load_background_onts

    # pyLODE gathers the members of a union or intersection in a set of HTML elements, which
    # iterates in memory-address order: put them in the order of their rendered text.
    joined = pylode.utils.intersperse
    pylode.utils.intersperse = lambda items, sep: joined(sorted(items, key=str), sep)

    # pyLODE caches its background ontologies in a pickle on first use, and a graph read from
    # the pickle iterates in another order than one parsed afresh: make the cache first, so
    # every run reads it and gives the same bytes.
    load_background_onts()
    parsed = Graph().parse(data=sys.stdin.buffer.read(), format="turtle")
    # Parsing labels blank nodes at random, and pyLODE orders by label: relabel canonically.
    # This is rdflib's to_canonical_graph (the triples relabelled, in the order they are read,
    # into a new graph) with the labels computed on the blank-node triples alone, faster.
    terms = tbox(parsed)
    labels = canonical_labels(terms)
    canonical = Graph()
    for triple in terms:
        canonical.add(relabel(triple, labels))
    graph = Graph()
    for prefix, namespace in parsed.namespaces():
        graph.bind(prefix, namespace)
    for triple in canonical:
        graph.add(triple)
    sys.stdout.buffer.write(OntPub(graph, sort_subjects=True).make_html().encode("utf-8"))


if __name__ == "__main__":
    main()
