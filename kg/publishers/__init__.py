"""Publishers: put a built release into a store that `cytokg serve --store sparql:URL` reads.

``gsp`` replaces each named graph over the SPARQL 1.1 Graph Store Protocol (any store that
speaks it); ``virtuoso`` bulk-loads into OpenLink Virtuoso and switches versions in one
transaction.  Each keeps to one store's way of loading; the CLI picks one by the target.
"""
