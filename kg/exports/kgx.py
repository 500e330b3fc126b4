"""The graph as KGX nodes and edges TSV, with Biolink categories and predicates.

Nodes are the genes (human and mouse), complexes, cell types, diseases, drugs, processes,
families, anatomy and species of the release; edges are the asserted statements between them
whose property has a Biolink predicate below (the rest, such as `induces`, have no faithful
Biolink form without qualifiers and are left out). A node is named by the identifier Biolink
prefers for its category where the release holds one (NCBIGene for human genes, MGI for mouse
genes, CL, MONDO, DRUGBANK, GO, UBERON, NCBITaxon), else by its `cytokg:` CURIE
(https://w3id.org/cytokg/, our own prefix). Every edge is a manual knowledge assertion whose
primary knowledge source is `infores:cytokg`; its `publications` are the PMIDs and DOIs of its
sources, and `cytokg_sources` names all its Source terms.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from pathlib import Path

from kg.exports.files import render_table
from kg.exports.pairs import PREFIXES, ExportError, curie, open_release, select
from kg.vocab import BASE

INFORES = "infores:cytokg"
NODE_HEADER = ("id", "category", "name", "description", "xref", "synonym", "iri",
               "provided_by")
EDGE_HEADER = ("id", "subject", "predicate", "object", "original_predicate", "knowledge_level",
               "agent_type", "primary_knowledge_source", "publications", "cytokg_sources")
LIST_SEP = "|"  # KGX TSV separates the values of a multivalued column with '|'

#: Our classes, most specific first, and the Biolink category of their members.
CATEGORIES = (
    ("MouseGene", "biolink:Gene"),
    ("ReceptorComplex", "biolink:MacromolecularComplex"),
    ("MultiSubunitCytokine", "biolink:MacromolecularComplex"),
    ("CellType", "biolink:Cell"),
    ("Disease", "biolink:Disease"),
    ("Drug", "biolink:Drug"),
    ("BiologicalProcess", "biolink:BiologicalProcess"),
    ("ProteinFamily", "biolink:GeneFamily"),
    ("GeneGroup", "biolink:GeneFamily"),
    ("AnatomicalEntity", "biolink:AnatomicalEntity"),
    ("Organism", "biolink:OrganismTaxon"),
)
GENE = "biolink:Gene"  # a human molecule with an HGNC ID: the gene and the products it encodes

#: Our property -> Biolink predicate (Biolink model 4.4.6, shipped with kgx 2.7's bmt).
PREDICATES = {
    "bindsReceptor": "biolink:directly_physically_interacts_with",
    "targets": "biolink:directly_physically_interacts_with",
    "targetsComplexSubunit": "biolink:directly_physically_interacts_with",
    "bindsKinase": "biolink:directly_physically_interacts_with",
    "recruitsAdaptor": "biolink:directly_physically_interacts_with",
    "couplesToGProtein": "biolink:directly_physically_interacts_with",
    "interactsWith": "biolink:physically_interacts_with",
    "activatesSTAT": "biolink:regulates",
    "phosphorylatesSMAD": "biolink:regulates",
    "passesSignalTo": "biolink:regulates",
    "hasSubunit": "biolink:has_part",
    "memberOfFamily": "biolink:member_of",
    "hasGroupMember": "biolink:has_member",
    "subfamilyOf": "biolink:subclass_of",
    "subtypeOf": "biolink:subclass_of",
    "partOfProcess": "biolink:part_of",
    "producedBy": "biolink:expressed_in",
    "expressedBy": "biolink:expressed_in",
    "lineageTranscriptionFactor": "biolink:expresses",
    "treats": "biolink:treats",
    "drivesDisease": "biolink:contributes_to",
    "biomarkerOf": "biolink:biomarker_for",
    "implicatedIn": "biolink:associated_with",
    "deficiencyCauses": "biolink:causes",
    "variantsCause": "biolink:causes",
    "gainOfFunctionCauses": "biolink:causes",
    "inTaxon": "biolink:in_taxon",
    "orthologousTo": "biolink:orthologous_to",
}

#: Prefixes of skos:exactMatch IRIs, as Biolink and the Bioregistry write them.
MATCH_PREFIXES = {
    "http://purl.obolibrary.org/obo/CL_": "CL",
    "http://purl.obolibrary.org/obo/MONDO_": "MONDO",
    "http://purl.obolibrary.org/obo/GO_": "GO",
    "http://purl.obolibrary.org/obo/UBERON_": "UBERON",
    "http://purl.obolibrary.org/obo/NCBITaxon_": "NCBITaxon",
    "http://purl.obolibrary.org/obo/CHEBI_": "CHEBI",
    "http://purl.obolibrary.org/obo/DOID_": "DOID",
    "http://purl.obolibrary.org/obo/PR_": "PR",
    "http://purl.uniprot.org/uniprot/": "UniProtKB",
    "https://identifiers.org/drugbank:": "DRUGBANK",
}
#: The identifier prefix a node of each category is named by, where it has one.
PREFERRED = {
    "biolink:Cell": "CL", "biolink:Disease": "MONDO", "biolink:Drug": "DRUGBANK",
    "biolink:BiologicalProcess": "GO", "biolink:AnatomicalEntity": "UBERON",
    "biolink:OrganismTaxon": "NCBITaxon",
}

NODES_QUERY = PREFIXES + """PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
SELECT ?entity ?class ?label ?definition ?hgnc ?ncbi ?uniprot ?mgi ?ensembl ?match ?close
    ?alt WHERE {{
  ?entity a owl:NamedIndividual .
  {{ ?entity a ?class . VALUES ?class {{ {} }} }} UNION {{ ?entity cytokg:hgncId ?hgnc }}
  OPTIONAL {{ ?entity rdfs:label ?label FILTER (lang(?label) = "en") }}
  OPTIONAL {{ ?entity skos:definition ?definition FILTER (lang(?definition) = "en") }}
  OPTIONAL {{ ?entity cytokg:ncbiGeneId ?ncbi }}
  OPTIONAL {{ ?entity cytokg:uniprotId ?uniprot }}
  OPTIONAL {{ ?entity cytokg:mgiId ?mgi }}
  OPTIONAL {{ ?entity cytokg:ensemblGeneId ?ensembl }}
  OPTIONAL {{ ?entity skos:exactMatch ?match }}
  OPTIONAL {{ ?entity skos:closeMatch ?close }}
  OPTIONAL {{ ?entity skos:altLabel ?alt }}
}}""".format(" ".join(f"cytokg:{name}" for name, _ in CATEGORIES))

EDGES_QUERY = PREFIXES + """SELECT ?s ?p ?o ?source ?pmid ?doi WHERE {{
  GRAPH <{}> {{ ?s ?p ?o }}
  VALUES ?p {{ {} }}
  OPTIONAL {{
    ?axiom a owl:Axiom ; owl:annotatedSource ?s ; owl:annotatedProperty ?p ;
           owl:annotatedTarget ?o ; dcterms:source ?source .
    OPTIONAL {{ ?source cytokg:pmid ?pmid }}
    OPTIONAL {{ ?source cytokg:doi ?doi }}
  }}
}}""".format(BASE + "graph/asserted", " ".join(f"cytokg:{p}" for p in PREDICATES))


def clean(text: str) -> str:
    """One line of text without the TSV and list separators."""
    return " ".join(text.replace(LIST_SEP, "/").split())


def category_of(classes: set[str], is_gene: bool) -> str | None:
    """The Biolink category of an individual, from its most specific mapped class."""
    for name, category in CATEGORIES:
        if BASE + name in classes:
            return category
    return GENE if is_gene else None


def node_id(key: str, category: str, rows: list[dict[str, str]]) -> tuple[str, list[str]]:
    """The node's identifier (the preferred external one, else its cytokg: CURIE) and xrefs."""
    first = rows[0]
    xrefs: set[str] = set()
    for row in rows:
        for iri in (row.get("match", ""), row.get("close", "")):
            for base, prefix in MATCH_PREFIXES.items():
                if iri.startswith(base):
                    xrefs.add(f"{prefix}:{iri.removeprefix(base)}")
    exact = {f"{MATCH_PREFIXES[b]}:{r['match'].removeprefix(b)}" for r in rows
             for b in MATCH_PREFIXES if r.get("match", "").startswith(b)}
    if first.get("hgnc"):
        xrefs.add(first["hgnc"])
    if first.get("ncbi"):
        xrefs.add(f"NCBIGene:{first['ncbi']}")
    if first.get("uniprot"):
        xrefs.add(f"UniProtKB:{first['uniprot']}")
    if first.get("ensembl"):
        xrefs.add(f"ENSEMBL:{first['ensembl']}")
    chosen = key
    if category == GENE and first.get("mgi"):
        chosen = first["mgi"]
    elif category == GENE and first.get("ncbi"):
        chosen = f"NCBIGene:{first['ncbi']}"
    elif category in PREFERRED:
        preferred = sorted(x for x in exact if x.startswith(PREFERRED[category] + ":"))
        if len(preferred) == 1:
            chosen = preferred[0]
    return chosen, sorted((xrefs | {key}) - {chosen})


def read_nodes(store) -> dict[str, tuple[str, ...]]:
    """The nodes as rows, keyed by the cytokg CURIE of the individual they stand for."""
    by_entity: dict[str, list[dict[str, str]]] = defaultdict(list)
    for row in select(store, NODES_QUERY):
        by_entity[curie(row["entity"])].append(row)
    nodes: dict[str, tuple[str, ...]] = {}
    taken: dict[str, str] = {}
    for key, rows in sorted(by_entity.items()):
        classes = {r["class"] for r in rows if "class" in r}
        category = category_of(classes, any("hgnc" in r for r in rows))
        if category is None:
            continue
        identifier, xrefs = node_id(key, category, rows)
        if identifier in taken:  # two of ours claim one identifier: keep both, by our CURIEs
            raise ExportError(f"{key} and {taken[identifier]} both map to {identifier}")
        taken[identifier] = key
        first = rows[0]
        synonyms = sorted({clean(r["alt"]) for r in rows if "alt" in r})
        nodes[key] = (identifier, category, clean(first.get("label", "")),
                      clean(first.get("definition", "")), LIST_SEP.join(xrefs),
                      LIST_SEP.join(synonyms), BASE + key.removeprefix("cytokg:"),
                      INFORES)
    return nodes


def read_edges(store, nodes: dict[str, tuple[str, ...]]) -> list[tuple[str, ...]]:
    """The asserted statements between exported nodes, with their sources and publications."""
    found: dict[tuple[str, str, str], tuple[set[str], set[str]]] = {}
    for row in select(store, EDGES_QUERY):
        s, p, o = curie(row["s"]), curie(row["p"]), curie(row["o"])
        if s not in nodes or o not in nodes:
            continue
        sources, publications = found.setdefault((s, p, o), (set(), set()))
        if "source" in row:
            sources.add(curie(row["source"]))
        if "pmid" in row:
            publications.add(f"PMID:{row['pmid'].removeprefix('PMID:')}")
        if "doi" in row:
            publications.add(f"doi:{row['doi'].removeprefix('DOI:').removeprefix('doi:')}")
    edges = []
    for (s, p, o), (sources, publications) in found.items():
        subject, obj = nodes[s][0], nodes[o][0]
        predicate = PREDICATES[p.removeprefix("cytokg:")]
        digest = hashlib.sha256(f"{s} {p} {o}".encode()).hexdigest()[:20]
        edges.append((f"cytokg:statement-{digest}", subject, predicate, obj, p,
                      "knowledge_assertion", "manual_agent", INFORES,
                      LIST_SEP.join(sorted(publications)), LIST_SEP.join(sorted(sources))))
    return sorted(edges, key=lambda e: (e[1], e[2], e[3], e[4]))


def render(release: Path) -> dict[str, bytes]:
    """The KGX nodes and edges files of a built release."""
    store = open_release(release)
    nodes = read_nodes(store)
    edges = read_edges(store, nodes)
    node_rows = sorted(nodes.values())
    return {"cytokg_nodes.tsv": render_table(NODE_HEADER, node_rows, "\t"),
            "cytokg_edges.tsv": render_table(EDGE_HEADER, edges, "\t")}
