"""Render rows as CSV/TSV text and write files atomically, shared by every table exporter."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from kg.atomic import write_atomic

__all__ = ["render_table", "write_atomic", "write_directory"]


def render_table(header: Sequence[str], rows: Iterable[Sequence[str]], delimiter: str) -> bytes:
    """Render a header and rows as CSV or TSV with Unix line ends, quoting only where needed."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\n",
                        quoting=csv.QUOTE_MINIMAL)
    writer.writerow(header)
    for row in rows:
        if len(row) != len(header):
            raise ValueError(f"row has {len(row)} cells for {len(header)} columns: {row!r}")
        writer.writerow(row)
    return buffer.getvalue().encode("utf-8")


def write_directory(directory: Path, files: Mapping[str, bytes]) -> list[Path]:
    """Write several files into a directory, each atomically, and return their paths."""
    written = []
    for name in sorted(files):
        write_atomic(directory / name, files[name])
        written.append(directory / name)
    return written
