"""The turn engine's answers: from the knowledge graph when it has the topic, never silent."""

from chatbot import engine
from knowledge.graph import KnowledgeGraph, NodeRecord

DELIVERY = NodeRecord("process:card_delivery", "process", "Card delivery", (), {"standard_days": 5})
TOPIC = NodeRecord(
    "topic:card_arrival",
    "topic",
    "Card arrival",
    (),
    {"intent": "card_arrival"},
    ("Cards arrive within {process:card_delivery.standard_days} working days.",),
)


def understood(intent: str, is_low_confidence: bool = False, confidence: float = 0.9) -> dict:
    return {
        "status": "ok",
        "intent": intent,
        "confidence": confidence,
        "is_low_confidence": is_low_confidence,
    }


def text_of(result: engine.TurnResult) -> list[str]:
    return ["".join(reply.chunks) for reply in result.replies]


def test_a_recognised_intent_is_answered_from_its_topic_with_the_sources():
    graph = KnowledgeGraph([DELIVERY, TOPIC], [])

    result = engine.run_turn({}, "where is my card", understood("card_arrival"), graph)

    assert text_of(result) == ["Cards arrive within 5 working days."]
    assert result.replies[0].sources == [
        {"key": "topic:card_arrival", "label": "Card arrival"},
        {"key": "process:card_delivery", "label": "Card delivery"},
    ]
    assert result.state["active_intent"] == "card_arrival"


def test_an_intent_without_a_topic_is_acknowledged_without_inventing_facts():
    graph = KnowledgeGraph([DELIVERY], [])

    result = engine.run_turn({}, "where is my card", understood("card_arrival"), graph)

    assert text_of(result) == ["I understand you're asking about card arrival."]
    assert result.replies[0].sources == []


def test_a_topic_answer_quoting_a_missing_fact_is_not_said():
    graph = KnowledgeGraph([TOPIC], [])

    result = engine.run_turn({}, "where is my card", understood("card_arrival"), graph)

    assert text_of(result) == ["I understand you're asking about card arrival."]


def test_a_guess_below_the_threshold_is_answered_as_a_guess():
    graph = KnowledgeGraph([DELIVERY, TOPIC], [])

    result = engine.run_turn({}, "hmm card", understood("card_arrival", True), graph)

    assert text_of(result) == ["Cards arrive within 5 working days."]
    assert result.trace["decision"] == "tentative"


def test_a_wild_guess_is_not_answered_from_the_graph():
    graph = KnowledgeGraph([DELIVERY, TOPIC], [])

    result = engine.run_turn({}, "hmm", understood("card_arrival", True, confidence=0.1), graph)

    assert text_of(result) == [engine.UNSURE]
    assert result.replies[0].sources == []
