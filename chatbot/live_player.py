"""A conversation played in memory exactly as the live bot answers it: the promoted model read in
the conversation's context, the current knowledge graph, and the configured turn (escalation
rules, language model, policy settings). `test_conversations`, the tests and the benchmarks use
it; the websocket runs the same turn function with the same configuration."""

from chatbot.dialogue.players import EnginePlayer
from chatbot.turn_configuration import configured_turn
from knowledge.service import current_graph


def understand(text: str, context: str | None) -> dict:
    """Classify a message in-process, in its context when it may be a follow-up."""
    from chatbot.nlu.understanding import understand_texts

    return understand_texts([text], contexts=[context])[0]


def live_player() -> EnginePlayer:
    """Return a player for one new conversation with the bot as configured."""
    return EnginePlayer(understand, current_graph(), configured_turn())
