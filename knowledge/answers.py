"""Grounded answers: a topic's answer with the facts it quotes filled in from the graph.

Plain Python. An answer states nothing the graph does not hold: every placeholder
`{node_key.attribute}` is replaced by that attribute's current value, and the nodes quoted are the
answer's sources.
"""

from __future__ import annotations

from dataclasses import dataclass

from knowledge.graph import KnowledgeGraph, Provenance, UnknownNode
from knowledge.validation import PLACEHOLDER


@dataclass(frozen=True)
class GroundedAnswer:
    """An answer's text and the nodes it came from."""

    text: str
    provenance: Provenance

    def as_dict(self, graph: KnowledgeGraph | None = None) -> dict:
        sources = [
            {"key": key, "label": graph.node(key).label if graph and key in graph else key}
            for key in self.provenance.nodes
        ]
        return {"text": self.text, "sources": sources}


class UnresolvedPlaceholder(LookupError):
    """An answer quotes a node or attribute the graph does not have."""


def answer_for_intent(graph: KnowledgeGraph, intent: str) -> GroundedAnswer | None:
    """Return the first answer of the intent's topic that can be grounded, or None."""
    key = graph.topic_for_intent(intent)
    return answer_of_node(graph, key) if key else None


def answer_of_node(graph: KnowledgeGraph, key: str) -> GroundedAnswer | None:
    """Return the node's first answer whose quoted facts all exist, filled in."""
    return next(iter(answers_of_node(graph, key)), None)


def answers_of_node(graph: KnowledgeGraph, key: str) -> list[GroundedAnswer]:
    """Return every answer of the node whose quoted facts all exist, filled in, in order."""
    grounded = []
    for answer in graph.node(key).answers:
        try:
            grounded.append(render_answer(graph, key, answer))
        except UnresolvedPlaceholder:
            continue
    return grounded


def render_answer(graph: KnowledgeGraph, key: str, answer: str) -> GroundedAnswer:
    """Fill in an answer's placeholders; the node itself and every node quoted are its sources."""
    quoted: dict[str, None] = {key: None}

    def value_of(match) -> str:
        node_key, attribute = match.group(1), match.group(2)
        try:
            attributes = graph.node(node_key).attributes
        except UnknownNode:
            raise UnresolvedPlaceholder(match.group()) from None
        if attribute not in attributes:
            raise UnresolvedPlaceholder(match.group())
        quoted[node_key] = None
        return spoken(attributes[attribute])

    text = PLACEHOLDER.sub(value_of, answer)
    return GroundedAnswer(text, Provenance(tuple(quoted)))


def spoken(value: object) -> str:
    """Return an attribute value as it reads in a sentence."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int) and abs(value) >= 1000:
        return f"{value:,}"
    if isinstance(value, float) and abs(value) >= 1000:
        return f"{value:,.2f}"
    if isinstance(value, list):
        items = [spoken(item) for item in value]
        if len(items) <= 1:
            return "".join(items)
        return ", ".join(items[:-1]) + " and " + items[-1]
    return str(value)
