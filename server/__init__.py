"""The cytokg SPARQL endpoint: a Flask app serving one release read-only.

The app itself lives in :mod:`server.app` and is imported on first use (PEP 562 module
``__getattr__``), so ``cytokg`` can read the serving options (:mod:`server.options`) of every
command without loading Flask, Granian and the query engines.
"""

from __future__ import annotations

from typing import Any

from .settings import Settings

__all__ = ["Runtime", "Settings", "create_app", "runtime"]
_APP_NAMES = frozenset({"Runtime", "create_app", "runtime"})


def __getattr__(name: str) -> Any:
    """Load :mod:`server.app` when one of its names is first asked for."""
    if name in _APP_NAMES:
        from . import app

        return getattr(app, name)
    raise AttributeError(f"module 'server' has no attribute {name!r}")
