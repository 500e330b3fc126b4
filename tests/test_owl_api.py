"""The release in the OWL API, the library Protege and ROBOT read ontologies with.

Every serialisation must load whole, through the parser of its own format (a parse error makes
the OWL API fall through to other parsers, one of which "succeeds" with a near-empty ontology),
with the same logical axioms; and the ontology must be in the OWL 2 DL profile. The OWL API
(5.1.20, with its Rio parsers, RDF4J and jsonld-java) comes from Debian's libowlapi-java, which
the test command installs; JPype runs it in this process, on a JVM started once per test session.
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import jpype
import pyoxigraph
import pytest

from kg.release import from_ntriples
from kg.triples import full_iris_for_escaped_names

CYTOKG = "https://w3id.org/cytokg/"
RDF_TYPE = b"<http://www.w3.org/1999/02/22-rdf-syntax-ns#type>"
# A backslash escape as written in a prefixed name (a literal's `\\` pairs are removed first).
NAME_ESCAPE = re.compile(r"\\[_~.\-!$&'()*+,;=/?#@%]")
FORMATS = "org.semanticweb.owlapi.formats."
# The document format each extension is read as, i.e. the parsers the OWL API may use for it:
# Turtle and RDF/XML by the OWL API's own parsers, N-Triples and JSON-LD by RDF4J Rio's.
FORMAT_OF = {"ttl": "TurtleDocumentFormat", "nt": "NTriplesDocumentFormat",
             "owl": "RDFXMLDocumentFormat", "jsonld": "RDFJsonLDDocumentFormat"}
# Debian's commons-text declares a packaging dependency on the Maven jar plugin: build tools
# are not on the OWL API's class path. Of SLF4J's bindings only the silent one is kept.
NOT_RUNTIME = re.compile(r"lib(maven|plexus|sisu|wagon)\S*")
OTHER_LOG_BINDINGS = re.compile(r"slf4j-(?!api|nop)\S+\.jar")


def debian_owlapi_jars(package: str = "libowlapi-java") -> list[str]:
    """The jars of Debian's OWL API and of the Java libraries it depends on, transitively."""
    seen: set[str] = set()
    todo, jars = [package], {}
    while todo:
        name = todo.pop()
        if name in seen or NOT_RUNTIME.fullmatch(name):
            continue
        seen.add(name)
        query = subprocess.run(["dpkg-query", "-W", "-f", "${Depends}\n${db-fsys:Files}", name],
                               capture_output=True, text=True, timeout=30)
        assert query.returncode == 0, f"{name} is not installed: {query.stderr}"
        depends, files = query.stdout.split("\n", 1)
        todo += [dep for dep in re.findall(r"(?:^|,)\s*([\w.+-]+)", depends)
                 if re.fullmatch(r"lib[\w.+-]*-java", dep)]
        for file in files.split():
            if (file.startswith("/usr/share/java/") and file.endswith(".jar")
                    and not OTHER_LOG_BINDINGS.fullmatch(Path(file).name)):
                jars.setdefault(os.path.realpath(file), file)  # versioned names are symlinks
    found = sorted(jars.values())
    for needed in ("owlapi-rio.jar", "rdf4j-rio-jsonld.jar", "jsonld-java.jar"):
        assert f"/usr/share/java/{needed}" in found, f"{needed} is not on the class path"
    return found


@pytest.fixture(scope="session")
def owlapi() -> dict[str, object]:
    """The OWL API classes the tests use, on a JVM started once (JPype can start only one)."""
    if not jpype.isJVMStarted():
        jpype.startJVM("-Xmx1g", classpath=debian_owlapi_jars(), convertStrings=True)
    names = {"manager": "org.semanticweb.owlapi.apibinding.OWLManager",
             "file": "java.io.File",
             "from_file": "org.semanticweb.owlapi.io.FileDocumentSource",
             "text": "org.semanticweb.owlapi.io.StringDocumentSource",
             "dl": "org.semanticweb.owlapi.profiles.OWL2DLProfile"}
    names |= {ext: FORMATS + name for ext, name in FORMAT_OF.items()}
    return {key: jpype.JClass(name) for key, name in names.items()}


def from_file(owlapi: dict, path: Path) -> object:
    """A document source for a release file, declared in the format its extension names."""
    return owlapi["from_file"](owlapi["file"](str(path)), owlapi[path.suffix[1:]]())


@dataclass
class Loaded:
    """What the OWL API read from one document."""

    syntax: str
    format: str
    axioms: int
    logical: int
    violations: list[str]


def load(owlapi: dict, source: object) -> Loaded:
    """Load a document (a java File or document source) in a fresh manager; check its profile."""
    manager = owlapi["manager"].createOWLOntologyManager()
    ontology = manager.loadOntologyFromOntologyDocument(source)
    violations = [str(v) for v in owlapi["dl"]().checkOntology(ontology).getViolations()]
    found = manager.getOntologyFormat(ontology)
    return Loaded(str(found.getKey()), str(found.getClass().getSimpleName()),
                  int(ontology.getAxiomCount()), int(ontology.getLogicalAxiomCount()), violations)


def class_assertions(ntriples: Path) -> int:
    """rdf:type triples naming one of our classes: each is a logical axiom (a floor for them)."""
    with ntriples.open("rb") as lines:
        return sum(1 for line in lines
                   if line.split(b" ", 2)[1:2] == [RDF_TYPE] and f"> <{CYTOKG}".encode() in line)


@pytest.fixture(scope="module")
def loaded(real_release: Path, owlapi: dict) -> dict[str, Loaded]:
    """Each release file of the full and asserted graphs as the OWL API reads it."""
    results = {}
    for name in ("cytokg.ttl", "cytokg.owl", "cytokg.nt", "cytokg.jsonld", "cytokg-asserted.ttl",
                 "cytokg-asserted.nt", "cytokg-asserted.owl"):
        path = real_release / name
        if path.exists():  # the release ships RDF/XML and JSON-LD of the full graph only
            results[name] = load(owlapi, from_file(owlapi, path))
    return results


def test_every_serialisation_loads_whole_with_the_same_logical_axioms(
        loaded: dict[str, Loaded], real_release: Path) -> None:
    # Each through the parser of its own format, never a fall-through: the JSON-LD document
    # through Rio's JSON-LD parser (jsonld-java), not through triples converted beforehand.
    expected = {"owl": "RDF/XML Syntax", "ttl": "Turtle Syntax", "nt": "N-Triples",
                "jsonld": "JSON-LD"}
    for name, result in loaded.items():
        ext = name.rsplit(".", 1)[1]
        assert (result.format, result.syntax) == (FORMAT_OF[ext], expected[ext]), name
    full = {name: r.logical for name, r in loaded.items() if not name.startswith("cytokg-")}
    assert set(full) == {"cytokg.ttl", "cytokg.owl", "cytokg.nt", "cytokg.jsonld"}
    assert len(set(full.values())) == 1, full
    assert len({r.axioms for n, r in loaded.items() if n in full}) == 1
    asserted = {name: r.logical for name, r in loaded.items() if name.startswith("cytokg-")}
    assert len(asserted) >= 2 and len(set(asserted.values())) == 1, asserted
    # A floor no partial parse reaches: every class assertion is a logical axiom, and the
    # full graph holds more of them than the asserted one.
    floor = class_assertions(real_release / "cytokg.nt")
    assert floor > 1000
    assert full["cytokg.ttl"] >= floor
    assert asserted["cytokg-asserted.ttl"] >= class_assertions(
        real_release / "cytokg-asserted.nt")
    assert full["cytokg.ttl"] > asserted["cytokg-asserted.ttl"]


def test_inferred_graph_loads_alike_from_turtle_and_ntriples(
        real_release: Path, owlapi: dict) -> None:
    # The inferred graph alone declares nothing (its terms are declared in the asserted graph),
    # so it is not checked against the profile; its two files must still read alike.
    ttl, nt = (load(owlapi, from_file(owlapi, real_release / f"cytokg-inferred.{ext}"))
               for ext in ("ttl", "nt"))
    assert (ttl.format, nt.format) == (FORMAT_OF["ttl"], FORMAT_OF["nt"])
    assert ttl.logical == nt.logical > 0
    assert ttl.axioms == nt.axioms


def test_ontology_is_in_the_owl2_dl_profile(loaded: dict[str, Loaded]) -> None:
    for name, result in loaded.items():
        assert result.violations == [], (
            f"{name}: {len(result.violations)} OWL 2 DL violations, first ones:\n"
            + "\n".join(v[:300] for v in result.violations[:5]))


def test_release_turtle_writes_escaped_names_as_full_iris(real_release: Path) -> None:
    for path in sorted(real_release.glob("*.ttl")):
        text = path.read_text(encoding="utf-8").replace("\\\\", "")
        found = NAME_ESCAPE.findall(text)
        assert not found, f"{path.name}: escaped prefixed names {found[:5]}"
    header = (real_release / "cytokg.ttl").read_text(encoding="utf-8")
    assert f"owl:versionIRI <{CYTOKG}releases/0.1.0/cytokg.owl>" in header


AWKWARD_LOCAL_NAMES = ["a/b", "a~b", "a(b)", "a%20b", "a#b", "a.", "-x", ".x", "a?b", "a,b",
                       "a;b", "a'b", "a!b", "a$b", "a&b", "a*b", "a+b", "a@b", "a=b"]


def test_awkward_iris_round_trip_through_our_turtle_and_the_owl_api(owlapi: dict) -> None:
    # IRIs whose local names a writer must escape, beside literals that look like such names.
    lines = [f"<{CYTOKG}s> <{CYTOKG}p> <{CYTOKG}{local}> ." for local in AWKWARD_LOCAL_NAMES]
    lines += [f'<{CYTOKG}s> <{CYTOKG}note> "cytokg:x\\\\/y and x:z\\\\~w" .',
              f'<{CYTOKG}s> <{CYTOKG}when> "1"^^<{CYTOKG}types/one> .',
              f"<{CYTOKG}a/b> <{CYTOKG}p> <{CYTOKG}plain> .",
              f"<{CYTOKG}o.owl> <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> "
              "<http://www.w3.org/2002/07/owl#Ontology> ."]
    document = "".join(sorted(line + "\n" for line in lines)).encode()
    prefixes = {"cytokg": CYTOKG, "x": "http://example.org/"}
    turtle = from_ntriples(document, "turtle", prefixes)
    assert not NAME_ESCAPE.findall(turtle.decode().replace("\\\\", "")), turtle.decode()
    assert b"cytokg:plain" in turtle  # names that need no escape stay prefixed
    parse = pyoxigraph.RdfFormat
    assert (set(pyoxigraph.parse(turtle, format=parse.TURTLE))
            == set(pyoxigraph.parse(document, format=parse.N_TRIPLES)))
    assert full_iris_for_escaped_names(turtle, prefixes) == turtle  # nothing left to rewrite
    # The OWL API reads it with its Turtle parser: one annotation per triple but the header.
    result = load(owlapi, owlapi["text"](turtle.decode(), "string:", owlapi["ttl"](), None))
    assert (result.format, result.syntax) == (FORMAT_OF["ttl"], "Turtle Syntax")
    assert result.axioms == len(lines) - 1
