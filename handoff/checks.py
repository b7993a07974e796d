"""Start-up checks of the handoff's settings that need the application's own names."""

from django.conf import settings
from django.core import checks

from chatbot.dialogue.escalation import TRIGGERS


@checks.register(checks.Tags.compatibility)
def check_escalation_triggers(app_configs, **kwargs) -> list[checks.CheckMessage]:
    """HANDOFF_TRIGGERS may name only triggers the escalation rules know."""
    unknown = [name for name in settings.HANDOFF_TRIGGERS if name not in TRIGGERS]
    if not unknown:
        return []
    return [
        checks.Error(
            f"HANDOFF_TRIGGERS names unknown triggers: {', '.join(unknown)}",
            hint=f"Known triggers: {', '.join(TRIGGERS)}.",
            id="handoff.E001",
        )
    ]
