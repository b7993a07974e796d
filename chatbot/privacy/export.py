"""One person's data as a JSON-ready dict: who they are and every conversation, whole."""

import datetime

from django.utils import timezone

from chatbot import personal_data_storage
from chatbot.models import AnswerFeedback, Conversation, Event, Turn, Visitor
from chatbot.nlu.models import MessageClassification
from handoff.models import Handoff, Note, Rating, Ticket

FORMAT = "chatbot-personal-data/1"


def _time(value: datetime.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def subject_data(visitor: Visitor) -> dict:
    """Return the visitor's details and conversations with their events, turns, handoffs,
    notes, tickets, ratings and answer ratings; nothing of anybody else."""
    conversations = list(visitor.conversations.order_by("created_at", "pk"))
    ids = [conversation.pk for conversation in conversations]
    return {
        "format": FORMAT,
        "exported_at": _time(timezone.now()),
        "visitor": {
            "id": str(visitor.pk),
            "created_at": _time(visitor.created_at),
            "external_id": visitor.external_id,
            "name": visitor.name,
            "email": visitor.email,
            "identified_at": _time(visitor.identified_at),
        },
        "conversations": [
            _conversation(conversation, parts)
            for conversation, parts in zip(conversations, _parts_by_conversation(ids), strict=True)
        ],
    }


def _parts_by_conversation(ids: list) -> list[dict]:
    """Read each kind of row once for all the conversations; return each one's share, in order."""
    parts = {pk: {"events": [], "turns": [], "handoffs": [], "tickets": []} for pk in ids}
    events = Event.objects.filter(conversation_id__in=ids).select_related(
        "feedback", "classification"
    )
    for event in events.order_by("conversation_id", "seq"):
        parts[event.conversation_id]["events"].append(_event(event))
    turns = Turn.objects.filter(conversation_id__in=ids).select_related("visitor_event")
    for turn in turns.order_by("conversation_id", "visitor_event__seq"):
        parts[turn.conversation_id]["turns"].append(_turn(turn))
    notes: dict[int, list[dict]] = {}
    for note in Note.objects.filter(handoff__conversation_id__in=ids).select_related("author"):
        notes.setdefault(note.handoff_id, []).append(_note(note))
    handoffs = Handoff.objects.filter(conversation_id__in=ids).select_related("assigned_to")
    for handoff in handoffs.order_by("requested_at", "pk"):
        parts[handoff.conversation_id]["handoffs"].append(
            _handoff(handoff, notes.get(handoff.pk, []))
        )
    for ticket in Ticket.objects.filter(conversation_id__in=ids).order_by("created_at", "pk"):
        parts[ticket.conversation_id]["tickets"].append(_ticket(ticket))
    ratings = {
        r.conversation_id: _rating(r) for r in Rating.objects.filter(conversation_id__in=ids)
    }
    for pk in ids:
        parts[pk]["rating"] = ratings.get(pk)
    return [parts[pk] for pk in ids]


def _conversation(conversation: Conversation, parts: dict) -> dict:
    return {
        "id": str(conversation.pk),
        "status": conversation.status,
        "owner": conversation.owner,
        "created_at": _time(conversation.created_at),
        "state": conversation.state,
        **parts,
    }


def _event(event: Event) -> dict:
    row = {
        "seq": event.seq,
        "kind": event.kind,
        "author": event.author,
        "text": event.text,
        "client_id": event.client_id,
        "data": event.data,
        "created_at": _time(event.created_at),
    }
    if event.has_original:
        # The person's own words as they typed them are theirs to have; the trail records
        # the export, as it records any reading of an original.
        row["original_text"] = _original(event)
    feedback: AnswerFeedback | None = getattr(event, "feedback", None)
    if feedback is not None:
        row["answer_rating"] = {"rating": feedback.rating, "at": _time(feedback.updated_at)}
    classification: MessageClassification | None = getattr(event, "classification", None)
    if classification is not None:
        row["classification"] = {
            "intent": classification.intent,
            "confidence": classification.confidence,
            "entities": classification.entities,
            "model_version": classification.model_version,
        }
    return row


def _turn(turn: Turn) -> dict:
    return {
        "message_seq": turn.visitor_event.seq,
        "understanding": turn.understanding,
        "trace": turn.trace,
        "state_diff": turn.state_diff,
        "created_at": _time(turn.created_at),
    }


def _handoff(handoff: Handoff, notes: list[dict]) -> dict:
    return {
        "id": handoff.pk,
        "status": handoff.status,
        "reason": handoff.reason,
        "intent": handoff.intent,
        "agent": handoff.assigned_to.display_name if handoff.assigned_to else None,
        "requested_at": _time(handoff.requested_at),
        "accepted_at": _time(handoff.accepted_at),
        "ended_at": _time(handoff.ended_at),
        "disposition": handoff.disposition,
        "notes": notes,
    }


def _note(note: Note) -> dict:
    return {
        "author": note.author.display_name if note.author else None,
        "text": note.text,
        "created_at": _time(note.created_at),
    }


def _ticket(ticket: Ticket) -> dict:
    return {
        "id": ticket.pk,
        "text": ticket.text,
        "contact": ticket.contact,
        "is_resolved": ticket.is_resolved,
        "created_at": _time(ticket.created_at),
    }


def _rating(rating: Rating) -> dict:
    return {
        "score": rating.score,
        "was_human_handled": rating.was_human_handled,
        "created_at": _time(rating.created_at),
    }


def _original(event: Event) -> str | None:
    """Return the message's kept original, or None when no key of today can read it."""
    try:
        return personal_data_storage.original(event.original_text, event.original_encrypted)
    except personal_data_storage.UnreadableOriginal:
        return None
