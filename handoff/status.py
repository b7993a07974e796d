"""The handoff status frame a (re)connecting visitor gets: who has the conversation now."""

import statistics

from django.conf import settings

from chatbot.models import Conversation
from handoff.models import Agent, Handoff
from handoff.routing import estimated_wait_seconds

RECENT_WAITS = 20


def current_status_frame(conversation_id) -> dict | None:
    """Return the `handoff` frame for the conversation's current owner; None while with the bot."""
    conversation = Conversation.objects.get(pk=conversation_id)
    if conversation.owner == Conversation.Owner.CLOSED:
        return {
            "type": "handoff",
            "status": "closed",
            "can_rate": not hasattr(conversation, "rating"),
        }
    handoff = (
        conversation.handoffs.filter(status__in=Handoff.OPEN_STATUSES)
        .select_related("assigned_to")
        .first()
    )
    if handoff is None:
        return None
    if handoff.status == Handoff.Status.ASSIGNED:
        return {
            "type": "handoff",
            "status": "agent",
            "agent": {"name": handoff.assigned_to.display_name},
        }
    position = Handoff.objects.filter(
        status=Handoff.Status.WAITING, requested_at__lte=handoff.requested_at
    ).count()
    return waiting_frame(handoff, position, average_wait_seconds())


def waiting_frame(handoff: Handoff, position: int, average_wait: float) -> dict:
    """Return the frame telling a waiting visitor their place in the queue and the wait."""
    able = Agent.objects.filter(is_online=True)
    if handoff.skill_id:
        able = able.filter(skills=handoff.skill_id)
    return {
        "type": "handoff",
        "status": "waiting",
        "reason": handoff.reason,
        "position": position,
        "estimated_wait_seconds": estimated_wait_seconds(position, able.count(), average_wait),
    }


def average_wait_seconds() -> float:
    """Return the median wait of the latest accepted handoffs (the default before there are any)."""
    recent = Handoff.objects.filter(accepted_at__isnull=False).order_by("-accepted_at")[
        :RECENT_WAITS
    ]
    waits = [(h.accepted_at - h.requested_at).total_seconds() for h in recent]
    return statistics.median(waits) if waits else settings.HANDOFF_DEFAULT_WAIT_SECONDS
