"""Start-up integrity check of a release: every file the manifest lists, with its SHA-256.

Kept apart from kg.release (which imports rdflib and pyoxigraph) so a server can verify the
release it is about to load at no import cost.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from kg.errors import BuildError


class ReleaseError(BuildError):
    """A release directory that must not be served: a file missing, unreadable or altered."""


def verify_release(out: Path) -> dict:
    """Check every file the manifest lists against its SHA-256 and return the manifest.

    Raises ReleaseError naming the first offending file, so a server refuses to start on a
    release that is incomplete or was changed after it was built.
    """
    path = out / "manifest.json"
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ReleaseError(f"{path} is missing: {out} holds no complete release "
                           "(run `cytokg build`)") from None
    except (OSError, ValueError) as exc:
        raise ReleaseError(f"{path} is unreadable ({exc}); rebuild with `cytokg build`") from None
    files = manifest.get("files") if isinstance(manifest, dict) else None
    if not isinstance(files, dict) or not files:
        raise ReleaseError(f"{path} lists no files; rebuild with `cytokg build`")
    for name, entry in sorted(files.items()):
        expected = entry.get("sha256") if isinstance(entry, dict) else entry
        target = out / name
        try:
            actual = hashlib.sha256(target.read_bytes()).hexdigest()
        except FileNotFoundError:
            raise ReleaseError(f"{target} is missing (listed in {path}); "
                               "rebuild with `cytokg build`") from None
        except OSError as exc:
            raise ReleaseError(f"{target} is unreadable ({exc.strerror or exc})") from None
        if actual != expected:
            raise ReleaseError(f"{target} does not match the SHA-256 in {path} (corrupt or "
                               "changed after the build); rebuild with `cytokg build`")
    return manifest
