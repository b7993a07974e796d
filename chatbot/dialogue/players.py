"""Play a conversation through the turn engine in memory, one visitor line at a time."""

from collections.abc import Callable

from chatbot import engine
from chatbot.dialogue.transcripts import Outcome
from knowledge.graph import KnowledgeGraph


class EnginePlayer:
    """Keeps one conversation's state and answers each line as the live bot would."""

    def __init__(self, understand: Callable[[str], dict], knowledge: KnowledgeGraph | None) -> None:
        self.understand = understand
        self.knowledge = knowledge
        self.state: dict = {}

    def __call__(self, text: str) -> Outcome:
        result = engine.run_turn(self.state, text, self.understand(text), self.knowledge)
        self.state = result.state
        return Outcome(
            texts=["".join(reply.chunks) for reply in result.replies],
            sources=[source["key"] for reply in result.replies for source in reply.sources],
            state=result.state,
            trace=result.trace,
        )
