"""Competency questions: every `queries/*.rq` gives exactly its expected answer on the release.

Questions marked `# Reasoning: required` must also give a different answer on the asserted graph
alone, which shows that the answer exists only thanks to the OWL 2 RL closure.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from kg.query import release_converter, rows, run

QUERIES = Path(__file__).resolve().parent.parent / "queries"
QUESTION_FILES = sorted(QUERIES.glob("*.rq"))
HEADER = re.compile(r"^#\s*(Question|Topic|Reasoning):\s*(.+?)\s*$")


def header(path: Path) -> dict[str, str]:
    """Read the `# Key: value` lines at the top of a question file."""
    fields = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.startswith("#"):
            break
        if match := HEADER.match(line):
            fields[match.group(1).lower()] = match.group(2)
    return fields


def expected(path: Path) -> tuple[list[str], list[tuple[str, ...]]]:
    """Read the expected answer beside a question: a header of variables, then rows."""
    lines = path.with_suffix(".expected.tsv").read_text(encoding="utf-8").splitlines()
    table = [tuple(line.split("\t")) for line in lines]
    return list(table[0]), [row + ("",) * (len(table[0]) - len(row)) for row in table[1:]]


def ordered(path: Path) -> bool:
    """Tell whether a question fixes the order of its answer."""
    return re.search(r"\bORDER\s+BY\b", path.read_text(encoding="utf-8"), re.I) is not None


def answer(release: Path, path: Path, graph: str) -> tuple[list[str], list[tuple[str, ...]]]:
    """Run a question over one graph of the release and render its rows as the files do."""
    return rows(run(release, path.read_text(encoding="utf-8"), graph=graph),
                release_converter(release))


def same(path: Path, got: list[tuple[str, ...]], want: list[tuple[str, ...]]) -> bool:
    """Compare answers in order when the question orders them, else as multisets."""
    return got == want if ordered(path) else Counter(got) == Counter(want)


def test_negative_questions_expect_no_rows() -> None:
    """Issue 13: at least 20 questions whose only correct answer is nothing guard the inferences."""
    negative = [p for p in QUESTION_FILES if header(p).get("topic") == "negative"]
    assert len(negative) >= 20
    for path in negative:
        variables, answer_rows = expected(path)
        assert variables and answer_rows == [], path.name


def test_there_are_enough_questions_and_enough_need_reasoning() -> None:
    assert len(QUESTION_FILES) >= 30
    assert sum(header(p).get("reasoning") == "required" for p in QUESTION_FILES) >= 8


@pytest.mark.parametrize("path", QUESTION_FILES, ids=lambda p: p.stem)
def test_question_file_is_documented(path: Path) -> None:
    fields = header(path)
    assert fields.get("question", "").endswith("?"), "header needs '# Question: ...?'"
    assert fields.get("topic"), "header needs '# Topic: ...'"
    assert path.with_suffix(".expected.tsv").is_file()


@pytest.mark.parametrize("path", QUESTION_FILES, ids=lambda p: p.stem)
def test_competency_question_answer(real_release: Path, path: Path) -> None:
    want_header, want_rows = expected(path)
    got_header, got_rows = answer(real_release, path, "full")
    assert got_header == want_header
    assert same(path, got_rows, want_rows), f"got {got_rows}"


@pytest.mark.parametrize("path", [p for p in QUESTION_FILES
                                  if header(p).get("reasoning") == "required"],
                         ids=lambda p: p.stem)
def test_competency_question_needs_reasoning(real_release: Path, path: Path) -> None:
    _, want_rows = expected(path)
    _, asserted_rows = answer(real_release, path, "asserted")
    assert not same(path, asserted_rows, want_rows)
