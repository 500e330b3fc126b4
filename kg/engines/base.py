"""The interface every query engine implements, so the endpoint never learns which answers."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence

from kg.results import QueryResult


class QuerySyntaxError(ValueError):
    """Raised for a malformed query so the endpoint can answer 400 rather than 500."""


class QueryEngine(ABC):
    """A read-only SPARQL engine over our named graphs, so the store can be swapped."""

    name: str = "abstract"

    @property
    @abstractmethod
    def graphs(self) -> tuple[str, ...]:
        """Named graph IRIs held, so the endpoint can restrict datasets to them."""

    @abstractmethod
    def query(
        self,
        sparql: str,
        *,
        default_graphs: Sequence[str] | None = None,
        named_graphs: Sequence[str] | None = None,
    ) -> QueryResult:
        """Evaluate ``sparql`` over the given dataset (``None`` = all our graphs)."""

    @abstractmethod
    def count(self, graph: str | None = None) -> int:
        """Number of triples in one graph (or all), for health and service description."""
