"""A real OpenLink Virtuoso for the tests: a temporary database on 127.0.0.1, always stopped."""

from benchmarks.virtuoso_server import INSTALL_HINT, PASSWORD, VirtuosoServer, free_port

__all__ = ["INSTALL_HINT", "PASSWORD", "VirtuosoServer", "free_port"]
