"""CONTRIBUTING.md, followed for real: its example rows, question and commands on the fixture.

The test reads the fenced blocks of CONTRIBUTING.md in order: a block tagged with a path under
`ontology/data/` adds its rows to that table of a copy of the fixture project, a `.rq` block
writes the question, an `sh` block runs its `cytokg` commands in the project, and any other
tagged block must equal the file the commands wrote. So the page and the test cannot drift.

The fixture holds only a few terms; the rows of the page name more (classes, properties,
sources, families) that the real project declares. Before the first command, each name the
fixture lacks is declared in it as the real project declares it (its TBox triples, or a row
with the real label and definition), so that the page's rows are checked against the real model.
"""

from __future__ import annotations

import re
import shlex
import subprocess
from pathlib import Path

from rdflib import BNode, Graph, URIRef
from rdflib.namespace import OWL, RDF, RDFS, SKOS
from support import CYTOKG, run_cli

from kg.build import Project
from kg.vocab import BASE

REPO = Path(__file__).resolve().parent.parent
GUIDE = REPO / "CONTRIBUTING.md"
BLOCK = re.compile(r"^```(\w+)(?: (\S+))?\n(.*?)^```$", re.M | re.S)
NAME = re.compile(r"^(?:cytokg:)?([A-Za-z][A-Za-z0-9_.-]*)$")
COPIED = (RDF.type, RDFS.label, SKOS.definition, RDFS.range, RDFS.subClassOf)
STUBS = "sources-from-the-project.tsv"  # a sources table: its source rows need no source


def blocks() -> list[tuple[str, str | None, str]]:
    """The fenced blocks of CONTRIBUTING.md: (language, path or None, text), in order."""
    found = BLOCK.findall(GUIDE.read_text(encoding="utf-8"))
    return [(lang, path or None, text) for lang, path, text in found]


def read_table(path: Path) -> tuple[list[str], list[list[str]]]:
    """A TSV table as its header and rows, comments left out."""
    lines = [line for line in path.read_text(encoding="utf-8").splitlines()
             if line.strip() and not line.startswith("#")]
    return lines[0].split("\t"), [line.split("\t") for line in lines[1:]]


def merge_rows(target: Path, text: str) -> None:
    """Add a block's rows to a table, widening the table's header to the block's columns."""
    new_header, new_rows = read_table_text(text)
    if not target.exists():
        target.write_text(text, encoding="utf-8")
        return
    old_header, rows = read_table(target)
    header = old_header + [c for c in new_header if c not in old_header]
    records = [dict(zip(old_header, row, strict=False)) for row in rows]
    records += [dict(zip(new_header, row, strict=False)) for row in new_rows]
    lines = ["\t".join(header)] + ["\t".join(r.get(c, "") for c in header) for r in records]
    target.write_text("\n".join(lines) + "\n", encoding="utf-8")


def read_table_text(text: str) -> tuple[list[str], list[list[str]]]:
    """A TSV block as its header and rows."""
    lines = [line for line in text.splitlines() if line.strip()]
    return lines[0].split("\t"), [line.split("\t") for line in lines[1:]]


def real_rows() -> dict[str, dict[str, str]]:
    """Every entity row of the real project, by id."""
    found: dict[str, dict[str, str]] = {}
    for path in sorted((REPO / "ontology" / "data").glob("*.tsv")):
        header, rows = read_table(path)
        if "id" in header:
            for row in rows:
                record = dict(zip(header, row, strict=False))
                found.setdefault(record["id"], record)
    return found


TEXT_COLUMNS = {"id", "label", "definition", "alt_labels"}


def our_name(token: str) -> str | None:
    """The local name of a token that names a term of our namespace, else None."""
    token = token.removeprefix("cytokg:")
    match = NAME.match(token)
    return match.group(1) if match else None


def names_used(data: Path, datatype_properties: set[URIRef]) -> set[str]:
    """The names of our namespace that the fixture's tables use (types, sources, objects)."""
    used: set[str] = set()
    for path in data.glob("*.tsv"):
        header, rows = read_table(path)
        used.update(c for c in header if c.startswith("cytokg:"))
        for row in rows:
            record = dict(zip(header, row, strict=False))
            for column, cell in record.items():
                prop = record.get("property", "") if column == "object" else column
                if column in TEXT_COLUMNS or (prop.startswith("cytokg:") and URIRef(
                        BASE + prop.removeprefix("cytokg:")) in datatype_properties):
                    continue
                used.update(part.strip() for part in cell.split("|") if part.strip())
    return {name for token in used if (name := our_name(token))}


def complete(project: Project) -> None:
    """Declare in the fixture each name its tables use that only the real project declares."""
    real_tbox = Graph().parse(REPO / "ontology" / "cytokg.ttl", format="turtle")
    datatype = set(real_tbox.subjects(RDF.type, OWL.DatatypeProperty))
    rows = real_rows()
    data = project.ontology / "data"
    tbox_path = project.ontology / "cytokg.ttl"
    fixture_tbox = Graph().parse(tbox_path, format="turtle")
    declared = {str(s) for s in fixture_tbox.subjects(RDF.type, None)}
    for path in data.glob("*.tsv"):
        header, table = read_table(path)
        if "id" in header:
            declared.update(BASE + r[header.index("id")] for r in table)
    added_tbox: list[str] = []
    stubs: list[str] = []
    pending = sorted(names_used(data, datatype))
    while pending:
        name = pending.pop()
        iri = URIRef(BASE + name)
        if str(iri) in declared:
            continue
        declared.add(str(iri))
        if (iri, RDF.type, None) in real_tbox:
            for p, o in real_tbox.predicate_objects(iri):
                if p in COPIED and not isinstance(o, BNode):
                    added_tbox.append(f"{iri.n3()} {p.n3()} {o.n3()} .")
                    if p == RDFS.subClassOf and str(o).startswith(BASE):
                        pending.append(str(o)[len(BASE):])
            continue
        assert name in rows, f"CONTRIBUTING.md names {name}, which the project does not declare"
        row = rows[name]
        types = [t.strip() for t in row["type"].split("|")]
        pending.extend(types)
        source_kind = {"Source", "DatabaseRecord", "Publication", "ArticleSection"}
        source = "" if set(types) & source_kind else "Article"
        stubs.append("\t".join([name, " | ".join(types), row["label"], row["definition"],
                                source]))
    with tbox_path.open("a", encoding="utf-8") as tbox:
        tbox.write("\n# Declared as in the real project (tests/test_contributing.py).\n")
        tbox.write("\n".join(added_tbox) + "\n")
    if stubs:
        (data / STUBS).write_text("id\ttype\tlabel\tdefinition\tsource\n"
                                  + "\n".join(stubs) + "\n", encoding="utf-8")


def run_commands(project: Project, text: str) -> None:
    """Run the `cytokg` lines of an sh block in the project, as a contributor would."""
    for line in text.splitlines():
        if not line.startswith("cytokg "):
            continue
        command = shlex.quote(str(CYTOKG)) + line[len("cytokg"):]
        result = subprocess.run(command, shell=True, cwd=project.root, capture_output=True,
                                text=True, timeout=600, check=False)
        assert result.returncode == 0, f"{line}: {result.stderr}"


def test_the_contributing_guide_covers_the_four_kinds_of_addition() -> None:
    targets = [path for _, path, _ in blocks() if path]
    assert "ontology/data/cytokines.tsv" in targets
    assert "ontology/data/receptor_binding.tsv" in targets
    assert any(t.startswith("queries/") and t.endswith(".rq") for t in targets)
    assert any(t.endswith(".expected.tsv") for t in targets)
    assert any(lang == "sh" and "--format expected" in text for lang, _, text in blocks())
    text = GUIDE.read_text(encoding="utf-8")
    headings = re.findall(r"^## \d+\. (.+)$", text, re.M)
    for heading in ("Add a cytokine", "Add a ligand\N{EN DASH}receptor pair", "Add a mapping",
                    "Add a competency question"):
        assert heading in headings


def test_following_the_guide_on_the_fixture_gives_a_passing_question(mini: Project) -> None:
    from test_competency import answer, expected, header, same

    completed = False
    question: Path | None = None
    compared = 0
    for lang, path, text in blocks():
        if lang == "sh":
            if not completed:
                complete(mini)
                completed = True
            run_commands(mini, text)
        elif path and path.startswith("ontology/data/"):
            merge_rows(mini.root / path, text)
        elif path and path.endswith(".rq"):
            question = mini.root / path
            question.parent.mkdir(parents=True, exist_ok=True)
            question.write_text(text, encoding="utf-8")
        elif path:
            written = (mini.root / path).read_text(encoding="utf-8")
            assert written == text, f"{path} as the guide shows it differs from what was written"
            compared += 1
    assert question is not None and compared >= 1
    # The question passes as tests/test_competency.py judges every question of queries/.
    fields = header(question)
    assert fields["question"].endswith("?") and fields["topic"]
    want_header, want_rows = expected(question)
    got_header, got_rows = answer(mini.out, question, "full")
    assert got_header == want_header and want_rows
    assert same(question, got_rows, want_rows)
    # The pair, the new cytokine's identifiers and the mapping are in the release.
    full = Graph().parse(mini.out / "cytokg.nt", format="nt")
    cytokg = BASE
    assert (URIRef(cytokg + "IL33"), URIRef(cytokg + "bindsReceptor"),
            URIRef(cytokg + "IL33ReceptorComplex")) in full
    sssom = (mini.out / "cytokg.sssom.tsv").read_text(encoding="utf-8")
    assert "cytokg:MastCell\tmast cell\tskos:exactMatch\tCL:0000097" in sssom
    assert "cytokg:IL33\tinterleukin 33\tskos:exactMatch\tUniProtKB:O95760" in sssom


def test_format_expected_writes_what_the_competency_test_reads_back(mini_built: Project,
                                                                    tmp_path: Path) -> None:
    from test_competency import answer, expected

    question = tmp_path / "01-producers.rq"
    question.write_text("PREFIX cytokg: <https://w3id.org/cytokg/>\n"
                        "SELECT ?cytokine ?cell ?label WHERE { ?cytokine cytokg:producedBy ?cell"
                        " . ?cell <http://www.w3.org/2000/01/rdf-schema#label> ?label }"
                        " ORDER BY ?cytokine ?cell\n", encoding="utf-8")
    result = run_cli("--root", str(mini_built.root), "query", str(question), "--format",
                     "expected")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "cytokine\tcell\tlabel"
    assert "cytokg:IL2\tcytokg:TLymphocyte\tT lymphocyte" in lines
    assert "cytokg:IL2\tcytokg:Lymphocyte\tlymphocyte" in lines  # inferred through subtypeOf
    question.with_suffix(".expected.tsv").write_text(result.stdout, encoding="utf-8")
    assert expected(question) == answer(mini_built.out, question, "full")


def test_format_expected_of_an_ask_and_of_an_empty_answer(mini_built: Project) -> None:
    ask = run_cli("--root", str(mini_built.root), "query",
                  "ASK { ?s a <https://w3id.org/cytokg/Lymphokine> }", "--format", "expected")
    assert (ask.returncode, ask.stdout) == (0, "ask\ntrue\n")
    empty = run_cli("--root", str(mini_built.root), "query",
                    "SELECT ?x ?y WHERE { ?x <https://w3id.org/cytokg/none> ?y }",
                    "--format", "expected")
    assert (empty.returncode, empty.stdout) == (0, "x\ty\n")


def test_format_expected_refuses_a_value_it_cannot_hold(mini_built: Project) -> None:
    result = run_cli("--root", str(mini_built.root), "query",
                     'SELECT ?v WHERE { BIND("a\\tb" AS ?v) }', "--format", "expected")
    assert result.returncode == 1
    assert result.stderr.startswith("cytokg: error: a value holds a tab or a line break")
    assert result.stdout == ""
