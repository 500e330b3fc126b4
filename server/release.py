"""Open the release a server serves: verified first, then its store, read once at start."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kg.integrity import verify_release
from kg.store import QueryEngine, open_store

from .settings import Settings


@dataclass(frozen=True)
class OpenRelease:
    """The verified manifest, the VoID text and the store of one release."""

    manifest: dict[str, Any]
    void_ttl: str
    engine: QueryEngine


def open_release(settings: Settings) -> OpenRelease:
    """Refuse a missing, partial or altered release, then open its store, for every server."""
    release = Path(settings.release_dir)
    manifest = verify_release(release)
    void_ttl = (release / "void.ttl").read_text(encoding="utf-8")
    return OpenRelease(manifest, void_ttl, open_store(release, settings.engine, settings.store))
