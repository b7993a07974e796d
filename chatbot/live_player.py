"""A conversation played in memory exactly as the live bot answers it: the promoted model read in
the conversation's context, the current knowledge graph, and the configured turn (escalation
rules, language model, policy settings). `test_conversations`, the tests and the benchmarks use
it; the websocket runs the same turn function with the same configuration."""

from collections.abc import Callable

from chatbot import engine
from chatbot.dialogue.transcripts import Outcome
from chatbot.turn_configuration import configured_turn
from knowledge.graph import KnowledgeGraph
from knowledge.service import current_graph

# Classifies a line, given the question it may follow up (`engine.understanding_context`).
Understand = Callable[[str, str | None], dict]


class EnginePlayer:
    """Keeps one conversation's state and answers each line as the live bot would: the same
    turn function, configuration and context for the classifier."""

    def __init__(
        self,
        understand: Understand,
        knowledge: KnowledgeGraph | None,
        configuration: engine.TurnConfiguration | None = None,
    ) -> None:
        self.understand = understand
        self.knowledge = knowledge
        self.configuration = configuration
        self.state: dict = {}
        self.recent: tuple[tuple[str, str], ...] = ()
        # The classifier's verdict on the last line said.
        self.understanding: dict | None = None

    def __call__(self, text: str) -> Outcome:
        self.understanding = self.understand(text, engine.understanding_context(self.state))
        result = engine.run_turn(
            self.state, text, self.understanding, self.knowledge, self.configuration, self.recent
        )
        self.state = result.state
        texts = ["".join(reply.chunks) for reply in result.replies]
        self.recent = (*self.recent, ("visitor", text), *(("bot", t) for t in texts))[-8:]
        return Outcome(
            texts=texts,
            sources=[source["key"] for reply in result.replies for source in reply.sources],
            state=result.state,
            trace=result.trace,
        )


def understand(text: str, context: str | None) -> dict:
    """Classify a message in-process, in its context when it may be a follow-up."""
    from chatbot.nlu.understanding import understand_texts

    return understand_texts([text], contexts=[context])[0]


def live_player() -> EnginePlayer:
    """Return a player for one new conversation with the bot as configured."""
    return EnginePlayer(understand, current_graph(), configured_turn())
