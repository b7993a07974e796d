"""The bot as a benchmark meets it: the live turn function, its configuration, in memory."""

from __future__ import annotations

import time
from dataclasses import dataclass


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
        from chatbot.nlu.artefacts import promoted_version

        self.model_version = promoted_version()

    def new_conversation(self) -> Conversation:
        return Conversation(self)

    def training_texts(self) -> list[str]:
        """Return the texts the served model was trained on (for the overlap check)."""
        from django.conf import settings

        from chatbot.nlu.importing import read_examples

        files = [settings.DEMO_INTENTS_FILE, settings.CONVERSATION_INTENTS_FILE]
        return [example.text for path in files for example in read_examples(path)]


class Conversation:
    """One conversation with the bot, through the player the transcripts use."""

    def __init__(self, bot: BotUnderTest) -> None:
        from chatbot.live_player import live_player

        self.player = live_player()

    def say(self, text: str) -> BotReply:
        started = time.perf_counter()
        outcome = self.player(text)
        seconds = time.perf_counter() - started
        return BotReply(
            texts=outcome.texts,
            sources=outcome.sources,
            decision=outcome.trace.get("decision"),
            handoff=outcome.trace.get("handoff"),
            offered=outcome.trace.get("offered") or [],
            flow=(outcome.state.get("flow") or {}).get("name"),
            slots=outcome.state.get("slots") or {},
            seconds=seconds,
        )
