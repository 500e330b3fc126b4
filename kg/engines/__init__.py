"""Query engines behind :class:`kg.engines.base.QueryEngine`, one module per backing store.

Submodules are imported by :mod:`kg.store`; each imports its library (pyoxigraph, rdflib,
http.client) only when an engine is built or an answer written, to keep start-up fast.
"""
