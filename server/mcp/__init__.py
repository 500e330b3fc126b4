"""The cytokg Model Context Protocol server: the graph as tools, resources and a prompt.

``cytokg mcp`` serves one release to AI assistants over stdio (default) or streamable HTTP,
with every limit of the SPARQL endpoint: queries run read-only in the endpoint's killable
executor processes, under its time, row and memory limits. Only :mod:`server.mcp.options` is
imported by the CLI up front; the SDK and the release load when the server starts.
"""
