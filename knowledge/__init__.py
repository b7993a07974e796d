"""The knowledge graph: its models, the networkx graph service, import/export and the editor."""
