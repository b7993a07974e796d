"""The handoff's settings as the plain-Python parts take them."""

from django.conf import settings

from chatbot.dialogue.escalation import EscalationRules
from handoff.presence import PresenceTimes


def escalation_rules() -> EscalationRules:
    """Return the escalation thresholds from the HANDOFF_* settings."""
    return EscalationRules(
        unclear_turns=settings.HANDOFF_UNCLEAR_TURNS,
        frustration=settings.HANDOFF_FRUSTRATION,
        sensitive_intents=tuple(settings.HANDOFF_SENSITIVE_INTENTS),
        flow_retries=settings.HANDOFF_FLOW_RETRIES,
        triggers=tuple(settings.HANDOFF_TRIGGERS),
    )


def presence_times() -> PresenceTimes:
    """Return the heartbeat, the silence that counts as gone and a reload's grace, in seconds."""
    return PresenceTimes(
        heartbeat_seconds=settings.HANDOFF_HEARTBEAT_SECONDS,
        timeout_seconds=settings.HANDOFF_PRESENCE_TIMEOUT_SECONDS,
        grace_seconds=settings.HANDOFF_RECONNECT_GRACE_SECONDS,
    )


def longest_countdown_seconds() -> float:
    """Return the longest a scheduled check may wait: well under the broker's visibility timeout."""
    return settings.CELERY_VISIBILITY_TIMEOUT_SECONDS / 2
