"""The Graph Store Protocol publisher under its old import path (moved to kg.publishers.gsp)."""

from kg.publishers.gsp import CHUNK, graph_url, publish, put_graph

__all__ = ["CHUNK", "graph_url", "publish", "put_graph"]
