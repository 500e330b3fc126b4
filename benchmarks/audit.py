"""Precision audit: a seeded random sample of statements between named individuals, to be judged.

Issue 13 asks how many inferred (and asserted) statements a biologist would call correct. This
draws the sample reproducibly from a release: statements whose subject and object are both named
individuals of our namespace (no `rdf:type`, no literals, no external IRIs), `--size` of them
from the inferred graph and as many from the asserted one, with the rule that produced each
inferred one (from `derivations.jsonl`) and the sources of each asserted one. A person then
fills the `verdict` (correct, wrong, doubtful) and `reason` columns; `--summary FILE` counts them.

    .venv/bin/python -m benchmarks.audit --seed 20261130 --out audit.tsv
    .venv/bin/python -m benchmarks.audit --summary benchmarks/audit-2026-11-30.tsv
"""

from __future__ import annotations

import argparse
import random
import sys
from collections import Counter
from pathlib import Path

import pyoxigraph as ox

from kg.explain import Explainer
from kg.layout import DERIVATIONS

ROOT = Path(__file__).resolve().parents[1]
BASE = "https://w3id.org/cytokg/"
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
NAMED = "http://www.w3.org/2002/07/owl#NamedIndividual"
LABEL = "http://www.w3.org/2000/01/rdf-schema#label"
# Provenance (dcterms:source, dcterms:isPartOf) says where a statement comes from: not audited.
DCTERMS = "http://purl.org/dc/terms/"
COLUMNS = ("kind", "subject", "predicate", "object", "subject_label", "object_label",
           "basis", "verdict", "reason")


def load(path: Path) -> list[ox.Triple]:
    """Read an N-Triples file of the release into a list of triples."""
    with path.open("rb") as handle:
        return list(ox.parse(handle, ox.RdfFormat.N_TRIPLES))


def short(iri: str) -> str:
    """Write an IRI of our namespace as a CURIE, and any other IRI in full."""
    return "cytokg:" + iri[len(BASE):] if iri.startswith(BASE) else iri


def between_individuals(triples: list[ox.Triple], individuals: set[str]) -> list[tuple[str, ...]]:
    """Keep the statements of knowledge whose subject and object are both our named individuals."""
    kept = {(t.subject.value, t.predicate.value, t.object.value) for t in triples
            if isinstance(t.subject, ox.NamedNode) and isinstance(t.object, ox.NamedNode)
            and t.predicate.value != RDF_TYPE and not t.predicate.value.startswith(DCTERMS)
            and t.subject.value in individuals and t.object.value in individuals
            and t.subject.value != t.object.value}
    return sorted(kept)


def rules(release: Path) -> dict[tuple[str, str, str], str]:
    """Map each inferred triple to the OWL 2 RL rule recorded for it at build time."""
    if not (release / DERIVATIONS).exists():
        return {}
    return {tuple(term.strip("<>") for term in key): step.rule
            for key, step in Explainer.load(release).steps.items()}


def sources(asserted: list[ox.Triple]) -> dict[tuple[str, str, str], str]:
    """Map each annotated asserted triple to its sources (owl:Axiom annotations)."""
    owl = "http://www.w3.org/2002/07/owl#"
    parts: dict[str, dict[str, str]] = {}
    srcs: dict[str, list[str]] = {}
    for t in asserted:
        key = t.subject.value if isinstance(t.subject, ox.BlankNode) else None
        if key is None:
            continue
        pred = t.predicate.value
        if pred in (owl + "annotatedSource", owl + "annotatedProperty", owl + "annotatedTarget"):
            parts.setdefault(key, {})[pred.rsplit("#", 1)[1]] = t.object.value
        elif pred == "http://purl.org/dc/terms/source":
            srcs.setdefault(key, []).append(short(t.object.value))
    return {(p["annotatedSource"], p["annotatedProperty"], p["annotatedTarget"]):
            " | ".join(sorted(srcs.get(k, []))) for k, p in parts.items() if len(p) == 3}


def sample(release: Path, seed: int, size: int) -> list[dict[str, str]]:
    """Draw the seeded sample of inferred and asserted statements, with labels and their basis."""
    asserted = load(release / "cytokg-asserted.nt")
    inferred = load(release / "cytokg-inferred.nt")
    individuals = {t.subject.value for t in asserted
                   if t.predicate.value == RDF_TYPE and t.object.value == NAMED
                   and t.subject.value.startswith(BASE)}
    labels = {t.subject.value: t.object.value for t in asserted if t.predicate.value == LABEL}
    why, provenance = rules(release), sources(asserted)
    rng = random.Random(seed)
    rows = []
    for kind, triples in (("inferred", inferred), ("asserted", asserted)):
        pool = between_individuals(triples, individuals)
        for s, p, o in rng.sample(pool, min(size, len(pool))):
            basis = why.get((s, p, o), "") if kind == "inferred" else provenance.get((s, p, o), "")
            rows.append({"kind": kind, "subject": short(s), "predicate": short(p),
                         "object": short(o), "subject_label": labels.get(s, ""),
                         "object_label": labels.get(o, ""), "basis": basis,
                         "verdict": "", "reason": ""})
        print(f"{kind}: {len(pool)} statements between named individuals, {size} drawn",
              file=sys.stderr)
    return rows


def summary(path: Path) -> str:
    """Count the verdicts of a judged sample, per kind."""
    lines = [line for line in path.read_text(encoding="utf-8").splitlines()
             if not line.startswith("#")]
    header = lines[0].split("\t")
    counts: Counter[tuple[str, str]] = Counter()
    for line in lines[1:]:
        row = dict(zip(header, line.split("\t"), strict=False))
        counts[(row["kind"], row.get("verdict") or "unjudged")] += 1
    return "\n".join(f"{kind}\t{verdict}\t{n}" for (kind, verdict), n in sorted(counts.items()))


def main(argv: list[str] | None = None) -> int:
    """Write the sample as TSV, or summarise a judged one."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--release", type=Path, default=ROOT / "build")
    parser.add_argument("--seed", type=int, default=20261130)
    parser.add_argument("--size", type=int, default=100)
    parser.add_argument("--out", type=Path, help="write the sample here (default: stdout)")
    parser.add_argument("--summary", type=Path, help="count the verdicts of a judged sample")
    args = parser.parse_args(argv)
    if args.summary:
        print(summary(args.summary))
        return 0
    rows = sample(args.release, args.seed, args.size)
    text = "\n".join(["\t".join(COLUMNS)] + ["\t".join(r[c] for c in COLUMNS) for r in rows])
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")
    else:
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
