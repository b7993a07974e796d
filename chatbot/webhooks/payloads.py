"""What the conversation's events say to subscribers: only what each event is about."""

from chatbot.models import Conversation, Event
from chatbot.webhooks.events import conversation_ordering_key
from chatbot.webhooks.outbox import emit, emit_many


def conversation_started(conversation: Conversation, event: Event) -> None:
    """Queue conversation.started for a conversation just opened."""
    emit(
        "conversation.started",
        {"conversation_id": str(conversation.pk), "started_at": event.created_at.isoformat()},
        conversation_ordering_key(conversation.pk),
    )


def messages_created(conversation_id, events: list[Event]) -> None:
    """Queue message.created for each stored message, in sequence order."""
    emit_many(
        [("message.created", message_data(event)) for event in events],
        conversation_ordering_key(conversation_id),
    )


def message_data(event: Event) -> dict:
    data = {
        "conversation_id": str(event.conversation_id),
        "seq": event.seq,
        "author": event.author,
        "text": event.text,
        "created_at": event.created_at.isoformat(),
    }
    if event.data.get("agent_name"):
        data["agent_name"] = event.data["agent_name"]
    # The text is the stored, masked one; the kinds masked tell a receiver why it has
    # placeholders. A message's original never leaves in a webhook.
    if event.data.get("masked"):
        data["masked"] = event.data["masked"]
    return data
