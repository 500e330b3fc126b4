"""The single-cell and KGX exports, checked through the CLI and by the real LIANA and KGX tools."""

from __future__ import annotations

import csv
import importlib.util
import json
import shutil
from pathlib import Path

import pytest

from kg.cli import main

REPO = Path(__file__).resolve().parent.parent

CPDB_V5 = {  # the headers of ventolab/cellphonedb-data v5.0.0 data/*_input.csv
    "gene_input.csv": ["gene_name", "uniprot", "hgnc_symbol", "ensembl"],
    "protein_input.csv": [
        "uniprot", "protein_name", "transmembrane", "peripheral", "secreted", "secreted_desc",
        "secreted_highlight", "receptor", "receptor_desc", "integrin",
        "biosynthetic_pathway_desc", "biosynthetic_pathway", "other", "other_desc", "tags",
        "tags_reason", "tags_description", "pfam", "version"],
    "complex_input.csv": [
        "complex_name", "uniprot_1", "uniprot_2", "uniprot_3", "uniprot_4", "uniprot_5",
        "transmembrane", "peripheral", "secreted", "secreted_desc", "secreted_highlight",
        "receptor", "receptor_desc", "integrin", "other", "other_desc", "pdb_id",
        "pdb_structure", "stoichiometry", "comments_complex", "reactome_reaction",
        "reactome_complex", "complexPortal_complex", "rhea_reaction", "curator", "version"],
    "interaction_input.csv": [
        "id_cp_interaction", "partner_a", "partner_b", "protein_name_a", "protein_name_b",
        "annotation_strategy", "source", "is_ppi", "curator", "reactome_complex",
        "reactome_reaction", "reactome_pathway", "complexPortal_complex", "comments", "version",
        "interactors", "classification", "directionality", "modulatory_effect"],
}


def export(release: Path, out: Path, fmt: str, species: str = "human") -> Path:
    """Run `cytokg export` on the session's release and return what it wrote."""
    code = main(["--root", str(REPO), "--out", str(release), "export", "--format", fmt,
                 "--species", species, "-o", str(out)])
    assert code == 0
    return out


def read(path: Path, delimiter: str) -> list[dict[str, str]]:
    """Read a CSV/TSV export into dicts."""
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle, delimiter=delimiter))


@pytest.fixture(scope="module")
def exported(real_release: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Every table export of the real release, human and mouse, written once."""
    out = tmp_path_factory.mktemp("exports")
    files = {}
    for species in ("human", "mouse"):
        files[f"pairs-{species}"] = export(real_release, out / f"pairs-{species}.tsv", "pairs",
                                           species)
        files[f"liana-{species}"] = export(real_release, out / f"liana-{species}.csv", "liana",
                                           species)
        files[f"cpdb-{species}"] = export(real_release, out / f"cpdb-{species}", "cellphonedb",
                                          species)
    files["kgx"] = export(real_release, out / "kgx", "kgx")
    return files


def test_gene_pair_table_expands_complexes_and_names_them(exported: dict[str, Path]) -> None:
    rows = read(exported["pairs-human"], "\t")
    il6 = {(r["receptor_gene"], r["receptor_complex"]) for r in rows if r["ligand_gene"] == "IL6"}
    assert ("IL6R", "cytokg:IL6ReceptorComplex") in il6
    assert ("IL6ST", "cytokg:IL6ReceptorComplex") in il6
    il12 = {r["ligand_gene"] for r in rows if r["ligand_complex"] == "cytokg:IL12"}
    assert il12 == {"IL12A", "IL12B"}
    assert all(r["sources"] and r["ligand_gene_id"].startswith("HGNC:") for r in rows)
    kinds = {(r["ligand_gene"], r["receptor_gene"]): r["interaction_type"] for r in rows}
    assert kinds[("IL1B", "IL1R2")] == "decoy"
    assert kinds[("IL1B", "IL1R1")] == "signalling"
    keys = [tuple(r.values()) for r in rows]
    assert keys == sorted(keys)


def test_mouse_pairs_use_one_to_one_orthologues_only(exported: dict[str, Path]) -> None:
    human = read(exported["liana-human"], ",")
    mouse = read(exported["liana-mouse"], ",")
    assert 0 < len(mouse) < len(human)
    pairs = {(r["ligand"], r["receptor"]) for r in mouse}
    assert ("Il6", "Il6ra_Il6st") in pairs
    assert not any(g.startswith("Cxcl8") or g.isupper() for p in pairs for g in p)
    rows = read(exported["pairs-mouse"], "\t")
    assert all(r["ligand_gene_id"].startswith("MGI:") for r in rows)
    # Every mouse row cites the orthology predictions behind its genes.
    assert all("cytokg:HCOP_" in r["sources"] for r in rows)


def test_cellphonedb_tables_have_the_v5_columns_and_join(exported: dict[str, Path]) -> None:
    for species in ("human", "mouse"):
        directory = exported[f"cpdb-{species}"]
        assert sorted(p.name for p in directory.iterdir()) == sorted(CPDB_V5)
        tables = {name: read(directory / name, ",") for name in CPDB_V5}
        for name, header in CPDB_V5.items():
            with (directory / name).open(encoding="utf-8") as handle:
                assert handle.readline().rstrip("\n").split(",") == [*header, "sources"]
        proteins = {r["uniprot"] for r in tables["protein_input.csv"]}
        complexes = {r["complex_name"]: r for r in tables["complex_input.csv"]}
        assert {r["uniprot"] for r in tables["gene_input.csv"]} == proteins
        for row in complexes.values():
            members = [row[f"uniprot_{i}"] for i in range(1, 6) if row[f"uniprot_{i}"]]
            assert len(members) >= 2 and set(members) <= proteins
        for row in tables["interaction_input.csv"]:
            assert {row["partner_a"], row["partner_b"]} <= proteins | set(complexes)
            assert row["source"] and row["sources"]
            assert row["annotation_strategy"] == "user_curated"
    human = read(exported["cpdb-human"] / "interaction_input.csv", ",")
    il6 = [r for r in human if r["interactors"] == "IL6-IL6R+IL6ST"]
    assert il6 and il6[0]["partner_b"] == "IL6ReceptorComplex"


def test_cellphonedb_builds_its_database_from_the_tables(exported: dict[str, Path],
                                                        tmp_path: Path) -> None:
    """CellPhoneDB's own create_db turns the tables into a database keeping every interaction."""
    from cellphonedb.utils import db_utils

    read_tables = db_utils.get_dfs

    def get_dfs(**files: str) -> dict:
        # CellPhoneDB reads an all-empty uniprot_4 column as floats and then cannot merge it
        # with the accessions; ours is empty because no complex of ours has four chains.
        tables = read_tables(**files)
        for column in ("uniprot_4", "uniprot_5"):
            tables["complex_input"][column] = tables["complex_input"][column].astype(object)
        return tables

    for species in ("human", "mouse"):
        target = tmp_path / species
        shutil.copytree(exported[f"cpdb-{species}"], target)
        db_utils.get_dfs = get_dfs
        try:
            db_utils.create_db(str(target))
        finally:
            db_utils.get_dfs = read_tables
        (database,) = target.glob("cellphonedb_*.zip")
        interactions, genes, _, complexes = db_utils.get_interactions_genes_complex(
            str(database))[:4]
        source = exported[f"cpdb-{species}"]
        assert len(interactions) == len(read(source / "interaction_input.csv", ",")) > 100
        assert len(genes) == len(read(source / "gene_input.csv", ","))
        assert len(complexes) == len(read(source / "complex_input.csv", ","))


def test_liana_ranks_il6_to_its_receptor_first(exported: dict[str, Path]) -> None:
    """LIANA itself scores our resource on cells where only IL6 and IL6R+IL6ST mark groups."""
    import anndata
    import liana
    import numpy as np
    import pandas as pd

    resource = pd.read_csv(exported["liana-human"], keep_default_na=False)
    genes = ["IL6", "IL6R", "IL6ST", "TNF", "TNFRSF1A", "TNFRSF1B", "IL1B", "IL1R1", "IL1RAP",
             "CXCL12", "CXCR4", "GAPDH", "ACTB"]
    rng = np.random.default_rng(7)
    counts = rng.poisson(1.0, size=(60, len(genes))).astype(float)  # background everywhere
    counts[:, [genes.index("GAPDH"), genes.index("ACTB")]] += 10
    counts[:20, genes.index("IL6")] += rng.poisson(30, 20)  # group A makes IL-6
    for gene in ("IL6R", "IL6ST"):  # group B senses it
        counts[20:40, genes.index(gene)] += rng.poisson(30, 20)
    obs = pd.DataFrame({"group": pd.Categorical(["A"] * 20 + ["B"] * 20 + ["C"] * 20)},
                       index=[f"cell{i}" for i in range(60)])
    data = anndata.AnnData(X=np.log1p(counts), obs=obs, var=pd.DataFrame(index=genes))
    liana.mt.rank_aggregate(data, groupby="group", resource=resource, expr_prop=0.1,
                            use_raw=False, n_perms=20, seed=1, verbose=False)
    result = data.uns["liana_res"].sort_values("magnitude_rank")
    top = result.iloc[0]
    assert (top["source"], top["target"]) == ("A", "B")
    assert (top["ligand_complex"], top["receptor_complex"]) == ("IL6", "IL6R_IL6ST")
    # The ranking had competitors: other pairs of the resource were scored too.
    others = result[result["ligand_complex"] != "IL6"]
    assert len(others) > 0 and others["magnitude_rank"].min() > top["magnitude_rank"]


def offline_kgx_validator():
    """A real KGX Validator over the Biolink model shipped in the biolink-model package.

    bmt and KGX fetch the Biolink model and its JSON-LD context from GitHub by default; tests
    have no network, so both are pointed at the package's own copies before KGX is imported.
    """
    import bmt

    package = Path(importlib.util.find_spec("biolink_model").submodule_search_locations[0])
    bmt.Toolkit.__init__.__defaults__ = (str(package / "schema" / "biolink_model.yaml"),
                                         {"predicate mappings": []})
    import kgx.config

    prefix_map = json.loads((package / "prefixmaps" / "biolink-model-prefix-map.json")
                            .read_text(encoding="utf-8"))
    kgx.config.jsonld_context_map["biolink"] = dict(prefix_map)
    from kgx.validator import Validator

    return Validator(), set(prefix_map)


def test_kgx_export_passes_the_kgx_validator(exported: dict[str, Path]) -> None:
    validator, biolink_prefixes = offline_kgx_validator()
    from kgx.transformer import Transformer

    nodes, edges = exported["kgx"] / "cytokg_nodes.tsv", exported["kgx"] / "cytokg_edges.tsv"
    transformer = Transformer(stream=False)
    transformer.transform({"filename": [str(nodes), str(edges)], "format": "tsv"})
    graph = transformer.store.graph
    assert graph.number_of_nodes() == len(read(nodes, "\t")) > 1000
    assert graph.number_of_edges() == len(read(edges, "\t")) > 2000
    # Every identifier prefix but our own documented cytokg: is one Biolink knows.
    used = {row["id"].split(":")[0] for row in read(nodes, "\t")}
    assert used - biolink_prefixes == {"cytokg"}
    validator.prefixes.add("cytokg")
    validator.validate(graph)
    print("KGX warnings:", json.dumps(validator.get_errors("WARNING"), default=str)[:2000])
    assert validator.get_errors("ERROR") == {}
    categories = {data["category"][0] for _, data in graph.nodes(data=True)}
    assert {"biolink:Gene", "biolink:Cell", "biolink:Disease", "biolink:Drug",
            "biolink:MacromolecularComplex", "biolink:GeneFamily"} <= categories
    il6 = graph.get_node("NCBIGene:3569")
    assert "HGNC:6018" in il6["xref"] and "UniProtKB:P05231" in il6["xref"]
    predicates = {data["predicate"] for *_, data in graph.edges(keys=True, data=True)}
    assert {"biolink:directly_physically_interacts_with", "biolink:has_part",
            "biolink:treats", "biolink:expressed_in", "biolink:orthologous_to"} <= predicates


def test_exports_are_byte_stable_and_written_atomically(exported: dict[str, Path],
                                                        real_release: Path,
                                                        tmp_path: Path) -> None:
    again = export(real_release, tmp_path / "kgx", "kgx")
    for name in ("cytokg_nodes.tsv", "cytokg_edges.tsv"):
        assert (again / name).read_bytes() == (exported["kgx"] / name).read_bytes()
    pairs = export(real_release, tmp_path / "pairs.tsv", "pairs", "mouse")
    assert pairs.read_bytes() == exported["pairs-mouse"].read_bytes()
    assert sorted(p.name for p in tmp_path.rglob("*")) == sorted(
        ["kgx", "cytokg_nodes.tsv", "cytokg_edges.tsv", "pairs.tsv"])


def test_multi_file_exports_need_a_directory(real_release: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["--root", str(REPO), "--out", str(real_release), "export", "--format",
                 "cellphonedb"])
    assert code == 1
    assert "-o DIRECTORY" in capsys.readouterr().err
