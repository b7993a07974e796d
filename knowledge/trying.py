"""The editor's "try it" box: what the bot would understand, link and answer for a message."""

from __future__ import annotations

from knowledge.answers import answer_for_intent
from knowledge.graph import KnowledgeGraph

MAX_FACTS_NODES = 5


def try_utterance(graph: KnowledgeGraph, text: str) -> dict:
    """Return the message's linked nodes, its understanding, the answer and the facts behind it."""
    mentions = graph.link(text)
    understanding = _understanding(text)
    answer = None
    topic = None
    if understanding.get("status") == "ok" and not understanding.get("is_low_confidence"):
        topic = graph.topic_for_intent(understanding["intent"])
        grounded = answer_for_intent(graph, understanding["intent"])
        answer = grounded.as_dict(graph) if grounded else None
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
        "topic": _summary(graph, topic) if topic else None,
        "answer": answer,
        "facts": [_facts(graph, key) for key in dict.fromkeys(subjects)][:MAX_FACTS_NODES],
    }


def _understanding(text: str) -> dict:
    # Imported here: the classifier pulls in ONNX Runtime, which only this view needs.
    from chatbot.nlu.understanding import understand_texts

    result = understand_texts([text])[0]
    return {
        name: result[name]
        for name in ("status", "intent", "confidence", "is_low_confidence", "ranking", "entities")
        if name in result
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
