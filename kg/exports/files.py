"""Render rows as CSV/TSV text and write files atomically, shared by every table exporter."""

from __future__ import annotations

import csv
import io
import os
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path


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


def write_atomic(path: Path, data: bytes) -> None:
    """Write a file through a temporary file beside it and a rename, so no reader sees half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o644)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def write_directory(directory: Path, files: Mapping[str, bytes]) -> list[Path]:
    """Write several files into a directory, each atomically, and return their paths."""
    written = []
    for name in sorted(files):
        write_atomic(directory / name, files[name])
        written.append(directory / name)
    return written
