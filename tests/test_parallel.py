"""A stage run in a forked child gives back its value, or its error with every detail."""

from __future__ import annotations

import os

import pytest

from kg.errors import BuildError
from kg.parallel import Background, can_fork


def child_pid() -> int:
    """The process the call ran in."""
    return os.getpid()


def fails_to_build() -> None:
    """Fail as a stage does."""
    raise BuildError("validation failed: 2 problem(s)", ["first", "second"])


def breaks() -> None:
    """Fail as a bug does."""
    raise KeyError("missing")


def dies() -> None:
    """End the process without a word, as the kernel's OOM killer would."""
    os._exit(9)


def test_value_comes_back_from_another_process() -> None:
    assert can_fork()  # Linux: the build's stages run side by side
    assert Background("test", child_pid).result() != os.getpid()


def test_build_error_comes_back_with_its_details() -> None:
    with pytest.raises(BuildError) as error:
        Background("test", fails_to_build).result()
    assert error.value.message == "validation failed: 2 problem(s)"
    assert error.value.details == ["first", "second"]


def test_other_errors_come_back_with_the_traceback() -> None:
    with pytest.raises(RuntimeError, match="KeyError: 'missing'"):
        Background("test", breaks).result()


def test_a_child_that_dies_is_a_build_error() -> None:
    with pytest.raises(BuildError, match="the test process died"):
        Background("test", dies).result()
