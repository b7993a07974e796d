"""Every write to a conversation: each event is committed with its sequence number."""

import uuid
from collections.abc import Iterable

from django.db import IntegrityError, transaction
from django.db.models import F

from chatbot.models import Conversation, Event, Turn, Visitor


def create_visitor() -> Visitor:
    """Create a new anonymous visitor."""
    return Visitor.objects.create()


def open_conversation(visitor_id: uuid.UUID) -> Conversation | None:
    """Return the visitor's open conversation, starting one if needed; None if no such visitor."""
    visitor = Visitor.objects.filter(pk=visitor_id).first()
    if visitor is None:
        return None
    conversation = visitor.conversations.filter(status=Conversation.Status.OPEN).first()
    if conversation is not None:
        return conversation
    with transaction.atomic():
        conversation = Conversation.objects.create(visitor=visitor)
        append_event(conversation.pk, kind="conversation_started", author=Event.Author.SYSTEM)
    conversation.refresh_from_db()
    return conversation


def append_event(
    conversation_id: uuid.UUID,
    *,
    kind: str,
    author: str,
    text: str = "",
    client_id: str | None = None,
    data: dict | None = None,
) -> Event:
    """Append one event under the conversation's next sequence number."""
    with transaction.atomic():
        # The row lock taken by this UPDATE orders concurrent writers; the unique
        # constraint on (conversation, seq) is the backstop.
        Conversation.objects.filter(pk=conversation_id).update(last_seq=F("last_seq") + 1)
        seq = Conversation.objects.values_list("last_seq", flat=True).get(pk=conversation_id)
        return Event.objects.create(
            conversation_id=conversation_id,
            seq=seq,
            kind=kind,
            author=author,
            text=text,
            client_id=client_id,
            data=data or {},
        )


def record_visitor_message(
    conversation_id: uuid.UUID, client_id: str, text: str
) -> tuple[Event, bool]:
    """Store a visitor message once per client id; return it and whether it was a resend."""
    existing = Event.objects.filter(conversation_id=conversation_id, client_id=client_id).first()
    if existing is not None:
        return existing, True
    try:
        event = append_event(
            conversation_id,
            kind=Event.MESSAGE,
            author=Event.Author.VISITOR,
            text=text,
            client_id=client_id,
        )
    except IntegrityError:
        # The same client id raced in from another socket and won; the whole append rolled back.
        return Event.objects.get(conversation_id=conversation_id, client_id=client_id), True
    return event, False


def complete_turn(
    conversation_id: uuid.UUID, visitor_event_id: int, replies: Iterable[str], state: dict
) -> list[Event]:
    """Commit the bot's replies to one visitor message together with the new dialogue state."""
    with transaction.atomic():
        events = [
            append_event(conversation_id, kind=Event.MESSAGE, author=Event.Author.BOT, text=text)
            for text in replies
        ]
        Turn.objects.create(
            conversation_id=conversation_id, visitor_event_id=visitor_event_id, state=state
        )
        Conversation.objects.filter(pk=conversation_id).update(state=state)
    return events
