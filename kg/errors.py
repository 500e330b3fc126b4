"""The one exception type of the build, so the CLI prints a clear message, not a traceback."""

from __future__ import annotations


class BuildError(Exception):
    """A problem in the sources or build for the user to fix; `details` lists each offender."""

    def __init__(self, message: str, details: list[str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = list(details or [])

    def __str__(self) -> str:
        """Render the summary and one indented line per detail, so every offender is named."""
        return "\n".join([self.message, *(f"  - {d}" for d in self.details)])
