"""Derivations: every inferred triple explained at build time, and `cytokg explain` reading them.

The tiny fixture has a chain (producedBy o subtypeOf), a defined class (Lymphokine, an
intersection with a hasValue restriction), an inverse (producedBy / produces) and a transitive
property (subtypeOf); the module adds one cell type so that transitivity has a step to take.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from rdflib import Graph
from support import run_cli

from kg import derive
from kg.build import Project, build
from kg.errors import BuildError
from kg.explain import Explainer, explain, split_line
from kg.layout import DERIVATIONS
from kg.reason import close

REPO = Path(__file__).resolve().parent.parent
FIXTURE = Path(__file__).resolve().parent / "fixtures" / "mini" / "ontology"
CD4_ROW = ("CD4TLymphocyte\tCellType\tCD4 T lymphocyte\tCD4 T cell\t"
           "A T lymphocyte that carries CD4.\tArticle\tTLymphocyte\t\n")


def mini_project(root: Path) -> Project:
    """A copy of the tiny fixture with a third cell type below T lymphocytes."""
    shutil.copytree(FIXTURE, root / "ontology")
    shutil.copytree(REPO / "queries" / "checks", root / "queries" / "checks")
    cells = root / "ontology" / "data" / "cells.tsv"
    cells.write_text(cells.read_text(encoding="utf-8") + CD4_ROW, encoding="utf-8")
    return Project(root=root, out=root / "build")


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Project:
    """The extended fixture, built once for the module."""
    built = mini_project(tmp_path_factory.mktemp("explain"))
    build(built, progress=lambda _: None)
    return built


def cli(project: Project, *args: str):
    """Run `cytokg explain` on the built fixture."""
    return run_cli("--root", str(project.root), "explain", *args)


def explain_json(project: Project, *triple: str) -> dict:
    """The derivation tree the CLI prints with --format json."""
    result = cli(project, *triple, "--format", "json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def walk(node: dict):
    """Every node of a JSON derivation tree."""
    yield node
    for child in node.get("premises", []):
        yield from walk(child)


def check_well_founded(out: Path) -> int:
    """Every inferred triple has one step, and each step rests on lower levels or asserted facts.

    Returns the number of inferred triples checked.
    """
    steps = {t: {"level": step.level, "released": step.released,
                 "axiom": list(step.axiom), "premises": list(step.premises)}
             for t, step in Explainer.load(out).steps.items()}
    inferred = [split_line(x) for x in (out / "cytokg-inferred.nt").read_text().splitlines()]
    asserted = {split_line(x) for x in (out / "cytokg-asserted.nt").read_text().splitlines()}
    lines = (out / DERIVATIONS).read_text().splitlines()
    assert len(steps) == sum('"kind":"step"' in line for line in lines)  # one step per triple
    assert inferred
    for triple in inferred:
        assert triple in steps, triple
        assert steps[triple]["released"] is True
    for triple, step in steps.items():
        assert triple not in asserted
        levels = []
        for premise in map(tuple, step["axiom"] + step["premises"]):
            if premise in steps:
                levels.append(steps[premise]["level"])
                assert steps[premise]["level"] < step["level"], (triple, premise)
            else:
                # A triple about a class expression names it by structure, not by its label.
                about_expression = any(term.startswith("_:") for term in premise)
                assert premise in asserted or about_expression, (triple, premise)
                levels.append(0)
        assert step["level"] == 1 + max(levels, default=0), triple
    return len(inferred)


# --------------------------------------------------------------------------- the build


def test_every_inferred_triple_has_a_well_founded_derivation(project: Project) -> None:
    assert check_well_founded(project.out) > 0


def test_derivations_file_is_listed_in_the_manifest(project: Project) -> None:
    manifest = json.loads((project.out / "manifest.json").read_text())
    assert DERIVATIONS in manifest["files"]
    assert manifest["files"][DERIVATIONS]["bytes"] == (project.out / DERIVATIONS).stat().st_size


def test_derivations_are_byte_identical_across_hash_seeds(tmp_path: Path) -> None:
    files = []
    for seed in ("3", "4"):
        root = mini_project(tmp_path / seed)
        env = {**os.environ, "PYTHONHASHSEED": seed}
        result = run_cli("--root", str(root.root), "build", env=env)
        assert result.returncode == 0, result.stderr
        files.append((root.out / DERIVATIONS).read_bytes())
    assert files[0] == files[1]


def test_build_fails_when_a_rule_the_reasoner_applied_is_missing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(derive.Deriver, "_chain", lambda *args: None)
    with pytest.raises(BuildError) as raised:
        build(mini_project(tmp_path / "broken"), progress=lambda _: None)
    message = str(raised.value)
    assert "no derivation" in message
    assert "<https://w3id.org/cytokg/IL2> <https://w3id.org/cytokg/producedBy> " \
           "<https://w3id.org/cytokg/Lymphocyte>" in message


# --------------------------------------------------------------------------- cytokg explain


def test_chain_step_names_the_chain_axiom_and_asserted_premises(project: Project) -> None:
    result = cli(project, "cytokg:IL2", "cytokg:producedBy", "cytokg:Lymphocyte")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "cytokg:IL2 cytokg:producedBy cytokg:Lymphocyte"
    assert lines[1] == ("inferred by prp-spo2 from cytokg:producedBy owl:propertyChainAxiom "
                        "(cytokg:producedBy cytokg:subtypeOf)")
    assert "    - cytokg:IL2 cytokg:producedBy cytokg:TLymphocyte" in lines
    assert "    - cytokg:TLymphocyte cytokg:subtypeOf cytokg:Lymphocyte" in lines
    sourced = [line for line in lines if line.strip().startswith("asserted")]
    assert len(sourced) == 2
    assert all("source: test article <https://w3id.org/cytokg/Article>" in s for s in sourced)


def test_defined_class_membership_goes_through_intersection_and_has_value(
        project: Project) -> None:
    tree = explain_json(project, "IL2", "a", "Lymphokine")
    assert tree["status"] == "inferred"
    assert tree["rule"] == "cax-eqc2"
    assert tree["axiom"] == ["cytokg:Lymphokine owl:equivalentClass (cytokg:Cytokine and "
                             "(cytokg:producedBy value cytokg:Lymphocyte))"]
    nodes = list(walk(tree))
    rules = {n.get("rule") for n in nodes}
    assert {"cls-int1", "cls-hv2", "prp-spo2", "cax-sco"} <= rules
    member = next(n for n in nodes if n.get("rule") == "cls-hv2")
    assert member["text"] == ("cytokg:IL2 rdf:type (cytokg:producedBy value cytokg:Lymphocyte)")
    assert member["status"] == "entailed"  # a class-expression membership, not released
    leaves = [n for n in nodes if "premises" not in n and not n.get("repeated")]
    assert leaves and all(n["status"] == "asserted" for n in leaves)
    assert {n["text"] for n in leaves} == {
        "cytokg:IL2 rdf:type cytokg:Interleukin",
        "cytokg:IL2 cytokg:producedBy cytokg:TLymphocyte",
        "cytokg:TLymphocyte cytokg:subtypeOf cytokg:Lymphocyte",
    }


def test_inverse_step(project: Project) -> None:
    tree = explain_json(project, "https://w3id.org/cytokg/Macrophage",
                        "<https://w3id.org/cytokg/produces>", "cytokg:IL6")
    assert tree["rule"] == "prp-inv1"
    assert tree["axiom"] == ["cytokg:producedBy owl:inverseOf cytokg:produces"]
    [premise] = tree["premises"]
    assert premise["text"] == "cytokg:IL6 cytokg:producedBy cytokg:Macrophage"
    assert premise["status"] == "asserted"
    assert premise["sources"] == [{"iri": "https://w3id.org/cytokg/Article",
                                   "label": "test article"}]


def test_transitive_step(project: Project) -> None:
    tree = explain_json(project, "CD4TLymphocyte", "subtypeOf", "Lymphocyte")
    assert tree["rule"] == "prp-trp"
    assert tree["axiom"] == ["cytokg:subtypeOf rdf:type owl:TransitiveProperty"]
    assert [p["text"] for p in tree["premises"]] == [
        "cytokg:CD4TLymphocyte cytokg:subtypeOf cytokg:TLymphocyte",
        "cytokg:TLymphocyte cytokg:subtypeOf cytokg:Lymphocyte",
    ]
    assert {p["status"] for p in tree["premises"]} == {"asserted"}


def test_asserted_triple_is_reported_with_its_sources(project: Project) -> None:
    result = cli(project, "IL2", "producedBy", "TLymphocyte")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "cytokg:IL2 cytokg:producedBy cytokg:TLymphocyte",
        "asserted; source: test article <https://w3id.org/cytokg/Article>",
    ]


@pytest.mark.parametrize("literal", ["HGNC:6018", '"HGNC:6018"'])
def test_literal_object(project: Project, literal: str) -> None:
    tree = explain_json(project, "IL6", "hgncId", literal)
    assert tree["status"] == "asserted"
    assert tree["triple"][2] == '"HGNC:6018"'
    assert tree["sources"][0]["label"] == "test article"


def test_triple_not_in_the_graph_fails(project: Project) -> None:
    result = cli(project, "IL6", "producedBy", "Lymphocyte")
    assert result.returncode != 0
    assert "not in the graph: cytokg:IL6 cytokg:producedBy cytokg:Lymphocyte" in result.stderr
    assert result.stdout == ""


def test_unknown_prefix_is_a_one_line_error(project: Project) -> None:
    result = cli(project, "nosuch:IL6", "a", "Cytokine")
    assert result.returncode == 1
    assert "unknown prefix 'nosuch'" in result.stderr


# --------------------------------------------------------------------------- the real release


def test_real_release_explains_every_inferred_triple(real_release: Path) -> None:
    assert check_well_founded(real_release) > 1000
    explainer = Explainer.load(real_release)
    rules = {step.rule for step in explainer.steps.values()}
    assert {"prp-spo2", "prp-inv1", "cax-sco"} <= rules
    chain = min(t for t, step in explainer.steps.items()
                if step.rule == "prp-spo2" and step.released)
    node, _ = explain(real_release, *chain, explainer=explainer)
    assert node.rule == "prp-spo2"
    stack, leaves = [node], []
    while stack:
        current = stack.pop()
        if not current.premises and not current.repeated:
            leaves.append(current)
        stack.extend(current.premises)
    assert leaves and all(leaf.status == "asserted" for leaf in leaves)
    assert any(leaf.sources for leaf in leaves)


def test_reference_engine_gets_the_same_derivations(tmp_path: Path, project: Project) -> None:
    reference = mini_project(tmp_path / "owlrl")
    build(reference, progress=lambda _: None, reasoner="owlrl")
    assert check_well_founded(reference.out) == check_well_founded(project.out)
    assert (reference.out / DERIVATIONS).read_bytes() == (project.out / DERIVATIONS).read_bytes()


OTHER_AXIOMS = """
@prefix : <https://w3id.org/cytokg/> .
@prefix owl: <http://www.w3.org/2002/07/owl#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
:partnerOf a owl:ObjectProperty, owl:SymmetricProperty .
:madeBy a owl:ObjectProperty ; rdfs:domain :Molecule ; rdfs:range :Cell ;
    rdfs:subPropertyOf :relatedTo .
:relatedTo a owl:ObjectProperty ; owl:equivalentProperty :linkedTo .
:linkedTo a owl:ObjectProperty .
:key a owl:ObjectProperty, owl:FunctionalProperty .
:Molecule a owl:Class . :Cell a owl:Class . :Immune a owl:Class .
:ImmuneProduct a owl:Class ; owl:equivalentClass
    [ a owl:Restriction ; owl:onProperty :madeBy ; owl:someValuesFrom :Immune ] .
:Either a owl:Class ; owl:equivalentClass [ a owl:Class ; owl:unionOf ( :Molecule :Cell ) ] .
:OnlyImmune a owl:Class ; rdfs:subClassOf
    [ a owl:Restriction ; owl:onProperty :madeBy ; owl:allValuesFrom :Immune ] .
:a :partnerOf :b .
:x :madeBy :t . :t a :Immune . :x a :OnlyImmune . :x :madeBy :u .
:x :key :k1 . :x :key :k2 .
"""


def test_other_owl_2_rl_axioms_are_explained_too() -> None:
    asserted = set(Graph().parse(data=OTHER_AXIOMS, format="turtle"))
    closure = close(asserted, "owlrl")
    derivations = derive.derive(asserted, closure.triples)  # raises if one is left unexplained
    rules = {json.loads(line)["rule"] for line in derivations.data.decode().splitlines()
             if '"kind":"step"' in line}
    assert {"prp-symp", "prp-dom", "prp-rng", "prp-spo1", "prp-eqp1", "prp-fp", "cls-svf1",
            "cls-avf", "cls-uni", "cax-eqc2", "scm-spo"} <= rules
