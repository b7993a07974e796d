"""The editor's "try it" box: what the bot understood, linked and answered for a message, and the
facts behind it. The answer is the live bot's own (the caller runs the turn); this module only
lays out what the graph holds about it."""

from __future__ import annotations

from typing import Protocol

from knowledge.graph import KnowledgeGraph

MAX_FACTS_NODES = 5
UNDERSTANDING_FIELDS = (
    "status",
    "intent",
    "confidence",
    "is_low_confidence",
    "ranking",
    "entities",
    "in_context",
)


class TurnOutcome(Protocol):
    """What the bot did with the message: its replies' texts and sources, and its decision."""

    texts: list[str]
    sources: list[str]
    trace: dict


def try_utterance(
    graph: KnowledgeGraph, text: str, understanding: dict | None, outcome: TurnOutcome
) -> dict:
    """Return the message's linked nodes, its understanding, the bot's answer and decision, and
    the facts behind them."""
    mentions = graph.link(text)
    understanding = {
        name: value for name, value in (understanding or {}).items() if name in UNDERSTANDING_FIELDS
    }
    intent = outcome.trace.get("intent")
    topic = graph.topic_for_intent(intent) if intent else None
    sources = [key for key in dict.fromkeys(outcome.sources) if key in graph]
    answer = None
    if outcome.texts:
        answer = {
            "text": "\n".join(outcome.texts),
            "sources": [{"key": key, "label": graph.node(key).label} for key in sources],
            "decision": outcome.trace.get("decision"),
            "handoff": outcome.trace.get("handoff"),
        }
    subjects = [topic] if topic else []
    subjects += [m.candidates[0] for m in mentions if not m.is_ambiguous]
    return {
        "mentions": [
            {
                "text": mention.text,
                "start": mention.start,
                "end": mention.end,
                "is_ambiguous": mention.is_ambiguous,
                "candidates": [_summary(graph, key) for key in mention.candidates],
            }
            for mention in mentions
        ],
        "understanding": understanding,
        "topic": _summary(graph, topic) if topic and topic in graph else None,
        "answer": answer,
        "facts": [_facts(graph, key) for key in dict.fromkeys(subjects)][:MAX_FACTS_NODES],
    }


def _facts(graph: KnowledgeGraph, key: str) -> dict:
    facts = graph.facts(key)

    def label(value: object) -> object:
        return graph.node(value).label if isinstance(value, str) and value in graph else value

    return {
        "node": _summary(graph, key),
        "statements": [
            {
                **fact.as_dict(),
                "subject_label": label(fact.subject),
                "value_label": label(fact.value),
            }
            for fact in facts.statements
        ],
        "provenance": facts.provenance.as_dict(),
    }


def _summary(graph: KnowledgeGraph, key: str) -> dict:
    node = graph.node(key)
    return {"key": node.key, "label": node.label, "type": node.type}
