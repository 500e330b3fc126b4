"""Where a project keeps its sources and checks and how a release is checked, in the stdlib alone.

The up-to-date check of `cytokg build` (and so the start of `cytokg serve`) needs only these
names; keeping them apart from the modules that import rdflib, pySHACL and owlrl lets a build
with nothing to do finish without importing those.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

TBOX_FILE = "cytokg.ttl"
CONTEXT_FILE = "context.jsonld"
SHAPES_FILE = "shapes.ttl"
DATA_DIR = "data"
CHECK_SUFFIX = "-violation.rq"
MANIFEST = "manifest.json"
# One derivation step per inferred triple (kg.derive writes it, kg.explain reads it).
DERIVATIONS = "derivations.jsonl"
# The fast engine is the default because the tests show it gives owlrl's closure on our data.
DEFAULT_ENGINE = "reasonable"


def source_files(root: Path) -> list[Path]:
    """List every file the build reads under `ontology/`, in a stable order."""
    files = [root / TBOX_FILE, root / CONTEXT_FILE]
    if (root / SHAPES_FILE).exists():
        files.append(root / SHAPES_FILE)
    files.extend(sorted((root / DATA_DIR).glob("*.tsv")))
    return files


def check_files(checks_dir: Path) -> list[Path]:
    """List the quality-check queries in a stable order."""
    return sorted(checks_dir.glob(f"*{CHECK_SUFFIX}"))


def read_manifest(out: Path) -> dict | None:
    """Read the manifest of a release, or None when there is none or it is unreadable."""
    try:
        return json.loads((out / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def release_intact(out: Path, manifest: dict) -> bool:
    """Tell whether every file the manifest lists is present with the listed hash."""
    for name, entry in manifest.get("files", {}).items():
        try:
            if hashlib.sha256((out / name).read_bytes()).hexdigest() != entry["sha256"]:
                return False
        except OSError:
            return False
    return True
