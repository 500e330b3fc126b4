"""Shared fixtures: a tiny hand-written project, and the real project built once per session."""

from __future__ import annotations

from pathlib import Path

import pytest
from support import FIXTURE, REPO, copy_project

from kg.build import Project, build


@pytest.fixture
def mini(tmp_path: Path) -> Project:
    """A fresh copy of the tiny fixture project, not yet built."""
    return copy_project(FIXTURE / "ontology", tmp_path / "mini")


@pytest.fixture
def mini_built(mini: Project) -> Project:
    """The tiny fixture project, built."""
    build(mini, progress=lambda _: None)
    return mini


@pytest.fixture(scope="session")
def real_release(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project's own ontology built once into a scratch release directory."""
    out = tmp_path_factory.mktemp("release")
    build(Project(root=REPO, out=out), progress=lambda _: None)
    return out
