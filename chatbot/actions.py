"""Every write to a conversation: each event is committed with its sequence number."""

import uuid
from collections.abc import Iterable

from django.db import IntegrityError, connection, transaction
from django.db.models import Max
from django.utils import timezone

from chatbot import personal_data, personal_data_storage
from chatbot.audit import actions as audit
from chatbot.models import AnswerFeedback, Conversation, Event, Turn, Visitor
from chatbot.personal_data_storage import ProtectedText, protect
from chatbot.webhooks import payloads as webhooks


class UnknownAnswer(Exception):
    """The sequence number names no bot answer in this conversation."""


def create_visitor() -> Visitor:
    """Create a new anonymous visitor."""
    return Visitor.objects.create()


def identified_visitor(
    user_id: str, name: str, email: str, *, browser_visitor_id: uuid.UUID | None = None
) -> Visitor:
    """The one visitor of a customer the company's website identified; made on first sight.

    `browser_visitor_id` is the visitor this browser chatted as before. An anonymous one's
    conversations become the customer's: what they asked before logging in stays with them.
    One identified as somebody else (a shared computer) is left as it is.
    """
    now = timezone.now()
    with transaction.atomic():
        try:
            with transaction.atomic():
                visitor, _ = Visitor.objects.select_for_update().get_or_create(external_id=user_id)
        except IntegrityError:  # made by a concurrent hello of the same customer
            visitor = Visitor.objects.select_for_update().get(external_id=user_id)
        visitor.name, visitor.email, visitor.identified_at = name, email, now
        visitor.save(update_fields=["name", "email", "identified_at"])
        if browser_visitor_id is not None and browser_visitor_id != visitor.pk:
            Conversation.objects.filter(
                visitor_id=browser_visitor_id, visitor__external_id__isnull=True
            ).update(visitor=visitor)
    return visitor


def open_conversation(
    visitor_id: uuid.UUID, *, is_new_visitor: bool = False
) -> Conversation | None:
    """Return the visitor's open conversation, starting one if needed; None if no such visitor.

    `is_new_visitor` says the visitor was created just now: no lookups, they have nothing yet.
    """
    if not is_new_visitor:
        visitor = Visitor.objects.filter(pk=visitor_id).first()
        if visitor is None:
            return None
        conversations = visitor.conversations.filter(status=Conversation.Status.OPEN)
        if visitor.external_id:
            # An identified customer may have brought conversations from several browsers:
            # the one with the newest event goes on.
            conversations = conversations.annotate(
                last_event_at=Max("events__created_at")
            ).order_by("-last_event_at")
        conversation = conversations.first()
        if conversation is not None:
            conversation.visitor = visitor  # read already: who they are costs no query
            return conversation
    with transaction.atomic():
        conversation = Conversation.objects.create(visitor_id=visitor_id)
        if not is_new_visitor:
            conversation.visitor = visitor
        started = append_event(
            conversation.pk, kind="conversation_started", author=Event.Author.SYSTEM
        )
        webhooks.conversation_started(conversation, started)
    conversation.last_seq = started.seq
    return conversation


def append_event(
    conversation_id: uuid.UUID,
    *,
    kind: str,
    author: str,
    text: str = "",
    client_id: str | None = None,
    data: dict | None = None,
    masking: Iterable[str] = (),
) -> Event:
    """Append one event under the conversation's next sequence number.

    `masking` names the kinds of personal data to mask in its text (none by default: a system
    event's words are the platform's own).
    """
    with transaction.atomic():
        return _append(conversation_id, kind, author, text, client_id, data, masking)


def _append(conversation_id, kind, author, text, client_id, data, masking=()) -> Event:
    """Append one event, inside the caller's transaction, its text masked of `masking`."""
    protected = protect(text, masking) if masking else ProtectedText(text, [])
    return Event.objects.create(
        conversation_id=conversation_id,
        seq=_next_seq(conversation_id),
        kind=kind,
        author=author,
        text=protected.text,
        client_id=client_id,
        data=_with_masked(data or {}, protected.masked),
        original_text=protected.original_text,
        original_encrypted=protected.original_encrypted,
    )


def _with_masked(data: dict, masked: list[str]) -> dict:
    """Say in the event's data which kinds of personal data its text had masked."""
    return {**data, "masked": masked} if masked else data


def _next_seq(conversation_id: uuid.UUID) -> int:
    """Bump and return the conversation's last sequence number, inside the caller's transaction."""
    # One statement: the row lock this UPDATE takes orders concurrent writers until commit, and
    # the unique constraint on (conversation, seq) is the backstop. Django's update() cannot
    # return the new value, hence the SQL (RETURNING works on PostgreSQL and SQLite alike).
    table = Conversation._meta.db_table
    key = Conversation._meta.pk.get_db_prep_value(conversation_id, connection)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET last_seq = last_seq + 1 WHERE id = %s RETURNING last_seq", [key]
        )
        row = cursor.fetchone()
    if row is None:
        raise Conversation.DoesNotExist(conversation_id)
    return row[0]


class ConversationClosed(Exception):
    """The conversation has ended: nothing more is added to it."""


def record_integration_message(
    conversation_id: uuid.UUID, client_id: str, text: str, source: str
) -> tuple[Event, bool]:
    """Post a message from another system (a proactive notice) into an open conversation.

    Shown as the bot's, with `source` in its data. `client_id` makes a resend harmless:
    return the event and whether it was stored already. Written by the company's systems, so
    only a customer's financial identifiers are masked in it, not a helpline's number.
    """
    stored_id = f"api-{client_id}"
    existing = Event.objects.filter(conversation_id=conversation_id, client_id=stored_id).first()
    if existing is not None:
        return existing, True
    if not Conversation.objects.filter(
        pk=conversation_id, status=Conversation.Status.OPEN
    ).exists():
        raise ConversationClosed(conversation_id)
    return _append_message_once(
        conversation_id,
        stored_id,
        Event.Author.BOT,
        text,
        {"source": source},
        personal_data.FINANCIAL_KINDS,
    )


def record_visitor_message(
    conversation_id: uuid.UUID, client_id: str, text: str
) -> tuple[Event, bool]:
    """Store a visitor message once per client id; return it and whether it was a resend.

    Its personal data is masked before it is stored (its original kept as
    PERSONAL_DATA_STORAGE says): the event's text and data["masked"] say what was.
    """
    return _append_message_once(
        conversation_id, client_id, Event.Author.VISITOR, text, None, personal_data.KINDS
    )


def _append_message_once(
    conversation_id: uuid.UUID,
    client_id: str,
    author: str,
    text: str,
    data: dict | None,
    masking: Iterable[str],
) -> tuple[Event, bool]:
    try:
        # One transaction (one savepoint) for the message and its webhook events.
        with transaction.atomic():
            event = _append(conversation_id, Event.MESSAGE, author, text, client_id, data, masking)
            webhooks.messages_created(conversation_id, [event])
    except IntegrityError:
        # A resend (or the same message racing in from another socket): the whole append,
        # sequence number included, rolled back.
        return Event.objects.get(conversation_id=conversation_id, client_id=client_id), True
    return event, False


def complete_turn(
    conversation_id: uuid.UUID,
    visitor_event_id: int,
    replies: Iterable[tuple[str, dict]],
    state: dict,
    record: dict | None = None,
) -> list[Event]:
    """Commit the bot's replies (text and data) to one visitor message with the new state.

    `record` holds what else the turn keeps: its state_diff, understanding and trace.
    Three statements whatever the number of replies: the conversation's row takes the new state
    and hands out the replies' sequence numbers, the replies go in together, then the turn.
    """
    replies = list(replies)
    with transaction.atomic():
        last_seq = _advance(conversation_id, len(replies), state)
        first_seq = last_seq - len(replies) + 1
        events = Event.objects.bulk_create(
            Event(
                conversation_id=conversation_id,
                seq=first_seq + index,
                kind=Event.MESSAGE,
                author=Event.Author.BOT,
                text=text,
                data=data,
            )
            for index, (text, data) in enumerate(replies)
        )
        webhooks.messages_created(conversation_id, events)
        Turn.objects.create(
            conversation_id=conversation_id,
            visitor_event_id=visitor_event_id,
            state=state,
            **(record or {}),
        )
    return events


def _advance(conversation_id: uuid.UUID, count: int, state: dict) -> int:
    """Reserve `count` sequence numbers and store the state; return the last number reserved."""
    # The same row lock and RETURNING as _next_seq, in the one statement the turn needs anyway.
    table = Conversation._meta.db_table
    key = Conversation._meta.pk.get_db_prep_value(conversation_id, connection)
    stored_state = Conversation._meta.get_field("state").get_db_prep_save(state, connection)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET last_seq = last_seq + %s, state = %s WHERE id = %s"
            " RETURNING last_seq",
            [count, stored_state, key],
        )
        row = cursor.fetchone()
    if row is None:
        raise Conversation.DoesNotExist(conversation_id)
    return row[0]


def record_answer_feedback(conversation_id: uuid.UUID, seq: int, rating: str) -> AnswerFeedback:
    """Keep the visitor's latest rating of one bot answer, with the turn that produced it.

    Raises UnknownAnswer when `seq` is not a bot message of this conversation.
    """
    answer = Event.objects.filter(
        conversation_id=conversation_id, seq=seq, author=Event.Author.BOT, kind=Event.MESSAGE
    ).first()
    if answer is None:
        raise UnknownAnswer(seq)
    feedback, _ = AnswerFeedback.objects.update_or_create(
        answer=answer, defaults={"rating": rating, "turn": answer.answering_turn()}
    )
    return feedback


def reveal_original(event: Event, *, user, request=None, details: dict | None = None) -> str:
    """Return a masked message's original and record who read it.

    The reading is recorded before the text is returned, so one that could not be recorded
    reveals nothing. Raise personal_data_storage.NoOriginal when none was kept, and
    UnreadableOriginal when no configured key decrypts it. The caller checks the reader's role.
    """
    original = personal_data_storage.original(event.original_text, event.original_encrypted)
    audit.record(
        audit.PERSONAL_DATA_REVEALED,
        user=user,
        request=request,
        target_type="event",
        target_id=event.pk,
        details={
            "conversation_id": str(event.conversation_id),
            "seq": event.seq,
            "kinds": event.data.get("masked", []),
            **(details or {}),
        },
    )
    return original


def rotate_personal_data_key(batch_size: int = 500) -> tuple[int, int]:
    """Encrypt every kept original again with the first of PERSONAL_DATA_KEYS.

    Return how many were re-encrypted and how many no configured key can read (left as they
    are). The one change ever made to a stored event: its text and meaning stay the same.
    """
    rotated = unreadable = 0
    last_id = 0
    while True:
        rows = list(
            Event.objects.filter(pk__gt=last_id)
            .exclude(original_encrypted="")
            .order_by("pk")
            .values_list("pk", "original_encrypted")[:batch_size]
        )
        if not rows:
            return rotated, unreadable
        for event_id, token in rows:
            try:
                renewed = personal_data_storage.rotated(token)
            except personal_data_storage.UnreadableOriginal:
                unreadable += 1
                continue
            Event.objects.filter(pk=event_id, original_encrypted=token).update(
                original_encrypted=renewed
            )
            rotated += 1
        last_id = rows[-1][0]
