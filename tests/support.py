"""Helpers the test modules share: running the real console script, loading derive/ scripts."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kg.build import Project

REPO = Path(__file__).resolve().parent.parent
FIXTURE = Path(__file__).resolve().parent / "fixtures" / "mini"

# The console script installed beside this interpreter: the command users run.
CYTOKG = Path(sys.executable).parent / "cytokg"


def run_cli(*args: str, cwd: Path | None = None, env: dict | None = None
            ) -> subprocess.CompletedProcess:
    """Run the real `cytokg` command (as installed) and capture its output."""
    return subprocess.run([str(CYTOKG), *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=600, check=False)


#: The libraries a build that only checks or reuses its release must not import.
PIPELINE_LIBRARIES = ("rdflib", "pyshacl", "owlrl", "reasonable", "pyoxigraph")


def build_in_fresh_process(root: Path, out: Path, options: str = "",
                           progress: str = "lambda _: None") -> subprocess.CompletedProcess:
    """Run ``kg.build.build`` in a new interpreter; its last stdout line is ``built [heavy]``.

    ``heavy`` lists the pipeline libraries the build imported, so a test can see a cheap path
    stay cheap.  ``options`` are extra keyword arguments to ``build``, as Python source.
    """
    script = ("import sys; from pathlib import Path; from kg.build import Project, build; "
              f"outcome = build(Project(root=Path({str(root)!r}), out=Path({str(out)!r})), "
              f"progress={progress}{', ' + options if options else ''}); "
              f"heavy = [m for m in {PIPELINE_LIBRARIES!r} if m in sys.modules]; "
              "print(outcome.built, heavy)")
    return subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120, check=False, cwd=REPO)


def load_script(name: str, path: Path) -> ModuleType:
    """Import a script of derive/ as a module (derive/ is a folder of scripts, not a package)."""
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


def copy_project(source_ontology: Path, destination: Path) -> Project:
    """Lay out a project (ontology plus the real quality checks) in a scratch folder."""
    from kg.build import Project

    shutil.copytree(source_ontology, destination / "ontology")
    shutil.copytree(REPO / "queries" / "checks", destination / "queries" / "checks")
    return Project(root=destination, out=destination / "build")
