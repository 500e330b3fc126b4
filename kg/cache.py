"""A content-addressed cache of the build's stage outputs, so a rebuild redoes only what changed.

Each stage names its inputs (the hash of the graph it reads, of the files and options it uses);
the key of an entry is the SHA-256 of those together with the code of the `kg` package and the
versions of the libraries that shape the output, so an entry is reused only for exactly the
inputs it was made from. An entry is a directory `<cache>/<stage>/<key>/` holding the output
files and `index.json`, which lists every file's size and SHA-256 and is written last: entries
are assembled in a temporary directory and renamed into place, so a reader sees a whole entry or
none. Every file is checked against the index before use; a damaged entry is removed and its
stage recomputed, never served. Only the standard library is used here, so the cache can be
consulted before the heavy libraries are imported.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from functools import lru_cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from kg.atomic import write_atomic

INDEX = "index.json"
#: Entries kept per stage; older ones are removed when a new one is stored.
KEEP = 3
#: The libraries whose version can change what a stage writes.
LIBRARIES = ("rdflib", "pyshacl", "pyoxigraph", "owlrl", "reasonable", "pylode", "curies")
#: Written into the cache directory so that git never lists what it holds.
GITIGNORE = "# the cytokg build cache (kg/cache.py): safe to delete\n*\n"


def digest(data: bytes) -> str:
    """The SHA-256 of some bytes, in hex."""
    return hashlib.sha256(data).hexdigest()


def file_hashes(paths: list[Path], root: Path) -> dict[str, str]:
    """Hash each file by its path relative to `root`: the inputs as a stage key sees them."""
    return {path.relative_to(root).as_posix(): digest(path.read_bytes()) for path in paths}


def pipeline_sources(package: Path, start: str = "build") -> list[Path]:
    """Every module of the package that the build can run: `kg.build` and what it imports.

    The imports are read from the source (at any indentation, so the lazy ones inside
    functions count), transitively; a module reached by no import chain from `kg.build` (the
    server, the exports) cannot change a release, and a new one that can is found by the walk.
    """
    root = package.parent
    seen: set[Path] = set()
    stack = [package / "__init__.py", package / f"{start}.py"]
    while stack:
        path = stack.pop()
        if path in seen or not path.is_file():
            continue
        seen.add(path)
        for match in _IMPORT.finditer(path.read_text(encoding="utf-8")):
            module, names, plain = match.groups()
            found = [plain] if plain else [module] + [
                f"{module}.{name.split()[0]}" for name in
                re.sub(r"#[^\n]*", "", names).strip("()").replace("\n", " ").split(",")
                if name.strip()]
            for name in found:
                if name.split(".")[0] == package.name:
                    target = root.joinpath(*name.split("."))
                    stack += [target.with_suffix(".py"), target / "__init__.py"]
    return sorted(seen)


# `from kg.x import a, b` (names possibly in parentheses over several lines) or `import kg.x`.
_IMPORT = re.compile(r"^[ \t]*(?:from[ \t]+([\w.]+)[ \t]+import[ \t]+(\([^)]*\)|[^\n]*)"
                     r"|import[ \t]+([\w.]+))", re.MULTILINE)


@lru_cache(maxsize=1)
def code_version() -> dict[str, str]:
    """The code that makes every output: the build's modules (`pipeline_sources`), Python and
    the libraries."""
    package = Path(__file__).resolve().parent
    total = hashlib.sha256()
    for path in pipeline_sources(package):
        total.update(path.relative_to(package).as_posix().encode() + b"\0")
        total.update(path.read_bytes() + b"\0")
    found = {"kg": total.hexdigest(), "python": sys.version.split()[0]}
    for library in LIBRARIES:
        try:
            found[library] = version(library)
        except PackageNotFoundError:
            found[library] = "absent"
    return found


def default_directory(out: Path) -> Path:
    """The cache of a release directory: a hidden directory beside it, never inside it.

    Inside, its files would count as part of the release (whose directory holds exactly the
    files its manifest lists).
    """
    return out.parent / f".{out.name}-cache"


@dataclass
class Entry:
    """A verified cache entry: its files' bytes and the small facts stored with them."""

    files: dict[str, bytes]
    meta: dict


@dataclass
class Cache:
    """The stage cache of one build.

    `read` false (`--no-cache`) makes every lookup miss, so every stage runs; what they make is
    still stored, refreshing the cache. A cache without a directory neither reads nor stores.
    `events` records, per stage, whether its output was "reused", "computed", or "recomputed"
    (a damaged entry was found, discarded and its output made again).
    """

    directory: Path | None
    read: bool = True
    keep: int = KEEP
    events: dict[str, str] = field(default_factory=dict)

    def key(self, stage: str, **inputs: object) -> str:
        """The key of a stage's output: its inputs, the code and library versions, hashed."""
        document = {"stage": stage, "code": code_version(), "inputs": inputs}
        return digest(json.dumps(document, sort_keys=True, ensure_ascii=False).encode())

    def get(self, stage: str, key: str) -> Entry | None:
        """The entry stored under this key if every file matches its index, else None."""
        self.events[stage] = "computed"
        if not self.read or self.directory is None:
            return None
        entry = self.directory / stage / key
        try:
            index = json.loads((entry / INDEX).read_bytes())
        except FileNotFoundError:
            return None
        except (OSError, ValueError):
            return self._discard(stage, entry)
        files: dict[str, bytes] = {}
        try:
            if index.get("key") != key:
                return self._discard(stage, entry)
            for name, expected in index["files"].items():
                data = (entry / name).read_bytes()
                if len(data) != expected["bytes"] or digest(data) != expected["sha256"]:
                    return self._discard(stage, entry)
                files[name] = data
            meta = index["meta"]
        except (OSError, KeyError, TypeError, AttributeError):
            return self._discard(stage, entry)
        self.events[stage] = "reused"
        return Entry(files, meta)

    def _discard(self, stage: str, entry: Path) -> None:
        """Remove a damaged entry so it can be stored again, and say it was recomputed."""
        self.events[stage] = "recomputed"
        _remove(entry)
        return None

    def put(self, stage: str, key: str, files: dict[str, bytes], meta: dict | None = None,
            links: dict[str, Path] | None = None) -> None:
        """Store a stage's output under its key, atomically; a cache that fails is skipped.

        `links` names, for some files, a file already on disk with the same bytes (the
        release file just written): it is hard-linked into the entry rather than copied. Its
        content is checked against the index on every read like any other file.
        """
        if self.directory is None or self.events.get(stage) == "reused":
            return
        stage_dir = self.directory / stage
        final = stage_dir / key
        try:
            stage_dir.mkdir(parents=True, exist_ok=True)
            ignore = self.directory / ".gitignore"
            if not ignore.exists():
                write_atomic(ignore, GITIGNORE.encode())
            temporary = Path(tempfile.mkdtemp(prefix=f".{key[:12]}.", dir=stage_dir))
            temporary.chmod(0o755)  # mkdtemp makes 0700; entries are as readable as releases
        except OSError:
            return
        try:
            index = {"key": key, "meta": meta or {}, "files": {}}
            for name, data in sorted(files.items()):
                target = temporary / name
                target.parent.mkdir(parents=True, exist_ok=True)
                if not _link((links or {}).get(name), target):
                    write_atomic(target, data)
                index["files"][name] = {"sha256": digest(data), "bytes": len(data)}
            write_atomic(temporary / INDEX, json.dumps(index, indent=1, sort_keys=True).encode())
            _remove(final)  # an older or damaged entry under the same key
            os.replace(temporary, final)
        except OSError:
            _remove(temporary)
            return
        self._prune(stage_dir, final)

    def _prune(self, stage_dir: Path, newest: Path) -> None:
        """Keep the newest entries of a stage (by modification time) and remove the rest."""
        try:
            entries = [p for p in stage_dir.iterdir() if p.is_dir() and not p.name.startswith(".")]
            entries.sort(key=lambda p: (p == newest, p.stat().st_mtime_ns), reverse=True)
        except OSError:
            return
        for old in entries[self.keep:]:
            _remove(old)


def materialise(files: dict[str, bytes], directory: Path, last: str) -> None:
    """Write an entry's files into a directory atomically, the file named `last` after the rest.

    Every file is written to a temporary file beside its destination and flushed first, then
    each replaces its predecessor by a rename (`last`, a manifest, at the end), so a failure
    leaves the previous files as they were. This is how a release reused whole is written,
    without importing the libraries that render one.
    """
    staged: list[tuple[Path, Path]] = []
    try:
        for name, data in files.items():
            final = directory / name
            final.parent.mkdir(parents=True, exist_ok=True)
            fd, temporary = tempfile.mkstemp(prefix=f".{final.name}.", suffix=".tmp",
                                             dir=final.parent)
            staged.append((Path(temporary), final))
            os.fchmod(fd, 0o644)
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
    except BaseException:
        for temporary, _ in staged:
            temporary.unlink(missing_ok=True)
        raise
    for temporary, final in sorted(staged, key=lambda pair: pair[1].name == last):
        os.replace(temporary, final)


def _link(source: Path | None, target: Path) -> bool:
    """Hard-link a file into an entry, telling whether it worked (else the caller copies)."""
    if source is None:
        return False
    try:
        os.link(source, target)
    except OSError:
        return False
    return True


def _remove(path: Path) -> None:
    """Remove an entry (or stray temporary directory): renamed aside first, then deleted.

    The rename is atomic, so a concurrent reader finds the whole entry or no entry.
    """
    if not path.exists():
        return
    aside = path.with_name(f".removing-{path.name}-{os.getpid()}")
    try:
        os.replace(path, aside)
    except OSError:
        aside = path
    shutil.rmtree(aside, ignore_errors=True)
