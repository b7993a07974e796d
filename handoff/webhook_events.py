"""The desk's webhook events: queued in the transaction of the handoff change that causes them."""

from django.utils import timezone

from chatbot.webhooks.events import conversation_ordering_key
from chatbot.webhooks.outbox import emit
from handoff.models import Handoff, Rating, Ticket


def handoff_requested(handoff: Handoff) -> None:
    _emit(
        "handoff.requested",
        handoff.conversation_id,
        handoff_id=handoff.pk,
        reason=handoff.reason,
        intent=handoff.intent,
        skill=handoff.skill.name if handoff.skill else None,
        # "waiting" in the queue, or "unavailable": nobody could take it (outside hours, say).
        status=handoff.status,
        requested_at=handoff.requested_at.isoformat(),
    )


def handoff_accepted(handoff: Handoff, agent_name: str) -> None:
    _emit(
        "handoff.accepted",
        handoff.conversation_id,
        handoff_id=handoff.pk,
        agent_name=agent_name,
        accepted_at=handoff.accepted_at.isoformat(),
    )


def handoff_closed(handoff: Handoff, status: str, disposition: str = "") -> None:
    _emit(
        "handoff.closed",
        handoff.conversation_id,
        handoff_id=handoff.pk,
        # "closed" (the conversation ends) or "returned" (back to the bot).
        status=status,
        disposition=disposition,
        ended_at=timezone.now().isoformat(),
    )


def ticket_created(ticket: Ticket) -> None:
    _emit(
        "ticket.created",
        ticket.conversation_id,
        ticket_id=ticket.pk,
        text=ticket.text,
        contact=ticket.contact,
        created_at=ticket.created_at.isoformat(),
    )


def rating_submitted(rating: Rating) -> None:
    _emit(
        "rating.submitted",
        rating.conversation_id,
        score=rating.score,
        was_human_handled=rating.was_human_handled,
    )


def _emit(event_type: str, conversation_id, **data) -> None:
    emit(
        event_type,
        {"conversation_id": str(conversation_id), **data},
        conversation_ordering_key(conversation_id),
    )
