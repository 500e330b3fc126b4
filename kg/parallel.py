"""Run one stage of the build in a forked child process while this process does the next.

The child inherits the parent's memory (the loaded graph) without copying or pickling it, and
sends back only its small result. A BuildError raised in the child is raised again in the
parent with the same message and details, so the user sees the same error either way.
"""

from __future__ import annotations

import multiprocessing
import traceback
from collections.abc import Callable
from typing import Any

from kg.errors import BuildError


def can_fork() -> bool:
    """Tell whether this platform starts processes by fork (Linux does; Windows cannot)."""
    return "fork" in multiprocessing.get_all_start_methods()


class Background:
    """A function call running in a forked child, or inline where fork is not available."""

    def __init__(self, name: str, function: Callable[..., Any], *args: Any) -> None:
        self.name = name
        self._inline: tuple[str, Any] | None = None
        if not can_fork():
            self._inline = _outcome(function, *args)
            return
        context = multiprocessing.get_context("fork")
        self._receiver, sender = context.Pipe(duplex=False)
        self._process = context.Process(target=_child, args=(sender, function, args),
                                        name=f"cytokg-{name}", daemon=True)
        self._process.start()
        sender.close()

    def ready(self) -> bool:
        """Tell whether the call has finished (so that `result` will not wait)."""
        return self._inline is not None or self._receiver.poll()

    def result(self) -> Any:
        """Wait for the call and return its value, raising again what it raised."""
        if self._inline is None:
            try:
                self._inline = self._receiver.recv()
            except EOFError:  # the child died without a word: killed, or out of memory
                self._process.join()
                raise BuildError(f"the {self.name} process died (exit status "
                                 f"{self._process.exitcode})") from None
            finally:
                self._receiver.close()
            self._process.join()
        kind, value = self._inline
        if kind == "value":
            return value
        if kind == "build-error":
            message, details = value
            raise BuildError(message, details)
        raise RuntimeError(f"the {self.name} process failed:\n{value}")

    def cancel(self) -> None:
        """Stop the child if it is still running (the build failed elsewhere)."""
        if self._inline is None and self._process.is_alive():
            self._process.kill()
            self._process.join()


class Done(Background):
    """A result known already, behind the same interface as a call still running."""

    def __init__(self, value: Any) -> None:
        self.name = "done"
        self._inline = ("value", value)


def _outcome(function: Callable[..., Any], *args: Any) -> tuple[str, Any]:
    """Call the function and describe how it ended, in a form that pickles."""
    try:
        return ("value", function(*args))
    except BuildError as exc:
        return ("build-error", (exc.message, exc.details))
    except Exception:
        return ("error", traceback.format_exc())


def _child(sender: Any, function: Callable[..., Any], args: tuple) -> None:
    """The child's body: run the call and send how it ended."""
    sender.send(_outcome(function, *args))
    sender.close()
