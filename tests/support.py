"""Helpers the test modules share: running the real console script."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

# The console script installed beside this interpreter: the command users run.
CYTOKG = Path(sys.executable).parent / "cytokg"


def run_cli(*args: str, cwd: Path | None = None, env: dict | None = None
            ) -> subprocess.CompletedProcess:
    """Run the real `cytokg` command (as installed) and capture its output."""
    return subprocess.run([str(CYTOKG), *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=600, check=False)
