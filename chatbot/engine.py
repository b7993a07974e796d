"""The turn engine: dialogue state and a visitor's message in, the bot's replies out.

Plain Python: no sockets, no database. Until intent classification, the knowledge graph and
the dialogue policy are connected, it greets on the first turn and acknowledges after that.
"""

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

GREETING = "Hello! I'm the virtual assistant. How can I help you today?"
ACKNOWLEDGEMENT = "Thanks, I have your message. How else can I help?"


@dataclass
class Reply:
    """One bot message, produced piece by piece so it can be streamed."""

    chunks: Iterable[str]


@dataclass
class TurnResult:
    """What one turn produced: the new dialogue state and the bot's replies."""

    state: dict
    replies: list[Reply] = field(default_factory=list)


def run_turn(state: dict, text: str) -> TurnResult:
    """Handle one visitor message.

    Args:
        state: the dialogue state after the previous turn ({} for a new conversation).
        text: the visitor's message, trimmed, never empty.

    Returns:
        The new state and the replies, in order.
    """
    turn_count = state.get("turn_count", 0) + 1
    answer = GREETING if turn_count == 1 else ACKNOWLEDGEMENT
    return TurnResult(
        state={**state, "turn_count": turn_count}, replies=[Reply(word_chunks(answer))]
    )


def word_chunks(text: str) -> list[str]:
    """Return the text a word at a time, spaces kept, the way a language model streams it."""
    return re.findall(r"\S+\s*|\s+", text)
