"""The handoff's settings as the plain-Python parts take them."""

from django.conf import settings

from handoff.triggers import EscalationRules


def escalation_rules() -> EscalationRules:
    """Return the escalation thresholds from the HANDOFF_* settings."""
    return EscalationRules(
        unclear_turns=settings.HANDOFF_UNCLEAR_TURNS,
        frustration=settings.HANDOFF_FRUSTRATION,
        sensitive_intents=tuple(settings.HANDOFF_SENSITIVE_INTENTS),
        flow_retries=settings.HANDOFF_FLOW_RETRIES,
        triggers=tuple(settings.HANDOFF_TRIGGERS),
    )
