"""The bot as a benchmark meets it: the live turn function, its configuration, in memory."""

from __future__ import annotations

import time
from dataclasses import dataclass, field


@dataclass
class BotReply:
    """What the bot did after one visitor message, as the scorer reads it."""

    texts: list[str]
    sources: list[str]
    decision: str | None
    handoff: str | None
    offered: list[str]
    flow: str | None
    slots: dict
    seconds: float = 0.0

    @property
    def text(self) -> str:
        return "\n".join(self.texts)


class BotUnderTest:
    """Answers as the websocket does: understanding, tracking, policy, rules and answer."""

    def __init__(self) -> None:
        from chatbot.llm import configured_backend
        from chatbot.nlu.artefacts import promoted_version
        from handoff.configuration import escalation_rules
        from knowledge.service import current_graph

        self.graph = current_graph()
        self.backend = configured_backend()
        self.rules = escalation_rules()
        self.model_version = promoted_version()

    def new_conversation(self) -> Conversation:
        return Conversation(self)

    def training_texts(self) -> list[str]:
        """Return the texts the served model was trained on (for the overlap check)."""
        from django.conf import settings

        from chatbot.nlu.importing import read_examples

        files = [settings.DEMO_INTENTS_FILE, *getattr(settings, "CONVERSATION_INTENTS_FILES", [])]
        return [example.text for path in files for example in read_examples(path)]


@dataclass
class Conversation:
    bot: BotUnderTest
    state: dict = field(default_factory=dict)
    recent: tuple = ()

    def say(self, text: str) -> BotReply:
        from chatbot import engine
        from chatbot.nlu.understanding import understand_texts

        started = time.perf_counter()
        understanding = understand_texts([text])[0]
        result = engine.run_turn(
            self.state,
            text,
            understanding,
            self.bot.graph,
            self.bot.backend,
            self.recent,
            self.bot.rules,
        )
        texts = ["".join(reply.chunks) for reply in result.replies]
        seconds = time.perf_counter() - started
        self.state = result.state
        self.recent = (*self.recent, ("visitor", text), *(("bot", t) for t in texts))[-8:]
        return BotReply(
            texts=texts,
            sources=[source["key"] for reply in result.replies for source in reply.sources],
            decision=result.trace.get("decision"),
            handoff=result.trace.get("handoff"),
            offered=[option["intent"] for option in result.state.get("offered") or []],
            flow=(result.state.get("flow") or {}).get("name"),
            slots=result.state.get("slots") or {},
            seconds=seconds,
        )
