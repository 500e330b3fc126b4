"""The Cytokine Knowledge Graph: ontology sources in, a reasoned and released graph out."""

__version__ = "0.1.0"
