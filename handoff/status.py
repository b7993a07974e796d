"""The handoff status frame a (re)connecting visitor gets: who has the conversation now."""

from chatbot.models import Conversation
from handoff.models import Handoff
from handoff.routing import estimated_wait_seconds


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
    from handoff.actions import average_wait_seconds
    from handoff.models import Agent

    position = Handoff.objects.filter(
        status=Handoff.Status.WAITING, requested_at__lte=handoff.requested_at
    ).count()
    able = Agent.objects.filter(is_online=True)
    if handoff.skill_id:
        able = able.filter(skills=handoff.skill_id)
    return {
        "type": "handoff",
        "status": "waiting",
        "reason": handoff.reason,
        "position": position,
        "estimated_wait_seconds": estimated_wait_seconds(
            position, able.count(), average_wait_seconds()
        ),
    }
