"""Export, erase and purge personal data: the writes, their audit records and who is told."""

import datetime
from collections import Counter

from django.db import transaction
from django.utils import timezone

from chatbot.audit import actions as audit
from chatbot.models import Visitor
from chatbot.privacy import retention
from chatbot.privacy.deletion import delete_conversations
from chatbot.privacy.export import subject_data
from chatbot.privacy.subjects import VISITOR, customer_digest
from handoff import notify
from handoff.actions import broadcast_queue, route_waiting
from handoff.models import Handoff

# Sent to every socket of an erased conversation: the widget forgets it, the console drops it.
ERASED_FRAME = {
    "type": "erased",
    "message": "This conversation's data has been erased.",
}


def export_subject(visitor: Visitor, *, user=None, api_key=None, request=None) -> dict:
    """Return the visitor's data, JSON-ready, and record who exported it."""
    data = subject_data(visitor)
    audit.record(
        audit.DATA_EXPORTED,
        user=user,
        api_key=api_key,
        request=request,
        target_type=VISITOR,
        target_id=visitor.pk,
        details={"conversations": len(data["conversations"])},
    )
    return data


def erase_subject(visitor: Visitor, *, user=None, api_key=None, request=None) -> dict[str, int]:
    """Delete the visitor, their conversations and every copy of their content, in one
    transaction; record ids and counts only. Return how many rows of each kind went."""
    with transaction.atomic():
        visitor = Visitor.objects.select_for_update().filter(pk=visitor.pk).first()
        if visitor is None:
            return {}  # erased by a concurrent request, which recorded it
        visitor_id, external_id = visitor.pk, visitor.external_id
        conversation_ids = list(visitor.conversations.values_list("pk", flat=True))
        held = list(
            Handoff.objects.filter(
                conversation_id__in=conversation_ids, status__in=Handoff.OPEN_STATUSES
            ).values_list("pk", "assigned_to_id", "offered_to_id")
        )
        counts = delete_conversations(conversation_ids)
        counts += Counter(visitors=visitor.delete()[1].get("chatbot.Visitor", 0))
        details = {"counts": dict(counts), "conversation_ids": [str(pk) for pk in conversation_ids]}
        if external_id:
            details["customer_digest"] = customer_digest(external_id)
        audit.record(
            audit.DATA_ERASED,
            user=user,
            api_key=api_key,
            request=request,
            target_type=VISITOR,
            target_id=visitor_id,
            details=details,
        )
        transaction.on_commit(lambda: _tell_erased(conversation_ids, held))
    return dict(counts)


def _tell_erased(conversation_ids: list, held: list[tuple[int, int | None, int | None]]) -> None:
    """Close the visitors' sockets and take the conversations off the agents' consoles."""
    for conversation_id in conversation_ids:
        notify.to_conversation(conversation_id, ERASED_FRAME)
    for handoff_id, assigned_to, offered_to in held:
        for agent_id in {assigned_to, offered_to} - {None}:
            notify.to_agent(
                agent_id, {"type": "released", "handoff_id": handoff_id, "why": "erased"}
            )
    if held:
        broadcast_queue()
        route_waiting()  # an agent who held one may take another now


def purge_expired(now: datetime.datetime | None = None, progress=None) -> dict:
    """Purge what the retention periods let go, and record what went (counts only)."""
    now = now or timezone.now()
    counts = retention.purge(now, progress)
    audit.record(
        audit.RETENTION_PURGED,
        target_type="retention",
        details={"counts": counts, "periods": retention.periods(), "now": now.isoformat()},
    )
    return counts
