"""The turn engine: dialogue state, a visitor's message and its understanding in, replies out.

Plain Python: no sockets, no database. A recognised intent is answered from its topic in the
knowledge graph, with the nodes the answer used as its sources; without a topic the bot says
what it understood; it asks again when unsure, and never stays silent.
"""

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from knowledge.answers import answer_for_intent
from knowledge.graph import KnowledgeGraph

GREETING = "Hello! I'm the virtual assistant. How can I help you today?"
ACKNOWLEDGEMENT = "Thanks, I have your message. How else can I help?"
NOT_CAUGHT = "Sorry, I didn't catch that. Could you say it again?"
UNSURE = "I'm not sure I understood. Could you put it another way?"
UNDERSTOOD = "I understand you're asking about {topic}."


@dataclass
class Reply:
    """One bot message, produced piece by piece so it can be streamed."""

    chunks: Iterable[str]
    sources: list[dict] = field(default_factory=list)


@dataclass
class TurnResult:
    """What one turn produced: the new dialogue state and the bot's replies."""

    state: dict
    replies: list[Reply] = field(default_factory=list)


def run_turn(
    state: dict,
    text: str,
    understanding: dict | None = None,
    knowledge: KnowledgeGraph | None = None,
) -> TurnResult:
    """Handle one visitor message.

    Args:
        state: the dialogue state after the previous turn ({} for a new conversation).
        text: the visitor's message, trimmed, never empty.
        understanding: the classifier's verdict (status "ok" with intent, confidence,
            is_low_confidence, ranking and entities), or status "timeout" when it did not
            answer in time, "no_model" before any training; None when not asked.
        knowledge: the knowledge graph to answer from; None answers without it.

    Returns:
        The new state and the replies, in order.
    """
    state = {**state, "turn_count": state.get("turn_count", 0) + 1}
    status = (understanding or {}).get("status")
    if status == "ok" and not understanding["is_low_confidence"]:
        state.update(intent=understanding["intent"], unsure_turns=0)
        grounded = answer_for_intent(knowledge, understanding["intent"]) if knowledge else None
        if grounded is not None:
            sources = grounded.as_dict(knowledge)["sources"]
            return TurnResult(state=state, replies=[Reply(word_chunks(grounded.text), sources)])
        answer = UNDERSTOOD.format(topic=describe_intent(understanding["intent"]))
    elif status == "ok":
        state["unsure_turns"] = state.get("unsure_turns", 0) + 1
        answer = UNSURE
    elif status in ("timeout", "unknown_message"):
        state["unsure_turns"] = state.get("unsure_turns", 0) + 1
        answer = NOT_CAUGHT
    else:
        answer = GREETING if state["turn_count"] == 1 else ACKNOWLEDGEMENT
    return TurnResult(state=state, replies=[Reply(word_chunks(answer))])


def describe_intent(name: str) -> str:
    """Return an intent's name as words: `card_arrival` -> `card arrival`."""
    return " ".join(re.findall(r"[A-Za-z0-9]+", name)).lower()


def word_chunks(text: str, words_per_chunk: int = 3) -> list[str]:
    """Return the text a few words at a time, spaces kept, the way a language model streams it."""
    words = re.findall(r"\S+\s*|\s+", text)
    return ["".join(words[i : i + words_per_chunk]) for i in range(0, len(words), words_per_chunk)]
