"""The knowledge graph as an entity linker for the intent pipeline: its names become entities.

It lives with the pipeline that reads the graph, so that the graph knows nothing of the model.
"""

from chatbot.nlu.entities import Entity
from knowledge.graph import KnowledgeGraph


class GraphLinker:
    """Finds the graph's node names in a message; an ambiguous name keeps all its candidates."""

    name = "graph"

    def __init__(self, graph: KnowledgeGraph) -> None:
        self.graph = graph

    def link(self, text: str) -> list[Entity]:
        """Return one entity per mention: the node's type, or "ambiguous" with the candidates."""
        entities = []
        for mention in self.graph.link(text):
            if mention.is_ambiguous:
                type_, value = "ambiguous", {"candidates": list(mention.candidates)}
            else:
                key = mention.candidates[0]
                type_, value = self.graph.node(key).type, {"node": key}
            entities.append(Entity(type_, mention.text, mention.start, mention.end, value))
        return entities
