"""The turn's configuration from the settings: one place, so that every caller of the turn
(the websocket, `test_conversations`, the benchmarks, the editor's "try it") answers alike."""

from django.conf import settings

from chatbot.dialogue.policy import PolicySettings
from chatbot.engine import TurnConfiguration
from chatbot.llm import configured_backend
from handoff.configuration import escalation_rules


def configured_turn() -> TurnConfiguration:
    """Return the escalation rules, language model and policy settings the settings choose."""
    return TurnConfiguration(
        rules=escalation_rules(),
        backend=configured_backend(),
        policy=PolicySettings(
            sure_confidence=settings.DIALOGUE_SURE_CONFIDENCE,
            tentative_floor=settings.DIALOGUE_TENTATIVE_FLOOR,
            options=settings.DIALOGUE_OPTIONS,
            sensitive_floor=settings.DIALOGUE_SENSITIVE_FLOOR,
            suggestions=settings.DIALOGUE_SUGGESTIONS,
            slot_memory_turns=settings.DIALOGUE_SLOT_MEMORY_TURNS,
        ),
    )
