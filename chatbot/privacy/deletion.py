"""Delete conversations with everything in them and every copy of their content, and count it."""

from collections import Counter
from collections.abc import Iterable

from chatbot.models import Conversation, Event
from chatbot.webhooks.events import conversation_ordering_key
from chatbot.webhooks.models import DeliveryLine, WebhookEvent
from handoff.models import Handoff, Ticket

# How counts name the rows a delete removed (Django's model labels); another model that holds
# a conversation's rows is counted under its own label without being listed here.
ROW_NAMES = {
    "chatbot.Visitor": "visitors",
    "chatbot.Conversation": "conversations",
    "chatbot.Event": "events",
    "chatbot.Turn": "turns",
    "chatbot.AnswerFeedback": "answer_feedback",
    "nlu.MessageClassification": "classifications",
    "handoff.Handoff": "handoffs",
    "handoff.Handoff_passed_over": "handoff_passes",
    "handoff.Note": "notes",
    "handoff.Ticket": "tickets",
    "handoff.Rating": "ratings",
    "webhooks.WebhookEvent": "webhook_events",
    "webhooks.Delivery": "webhook_deliveries",
    "webhooks.DeliveryAttempt": "webhook_attempts",
    "webhooks.DeliveryLine": "webhook_lines",
}


def named_counts(deleted_by_label: dict[str, int]) -> Counter:
    """Return Django's per-model delete counts under the names the counts use."""
    return Counter(
        {ROW_NAMES.get(label, label): count for label, count in deleted_by_label.items() if count}
    )


def delete_conversations(conversation_ids: Iterable) -> Counter:
    """Delete the conversations, their rows and their webhook events; inside the caller's
    transaction. Return how many rows of each kind went."""
    conversation_ids = list(conversation_ids)
    if not conversation_ids:
        return Counter()
    keys = [conversation_ordering_key(pk) for pk in conversation_ids]
    counts = Counter()
    # The outbox holds copies of messages and tickets (message.created, ticket.created): they go
    # too, delivered or not, and so do the lines their deliveries were ordered on.
    counts += named_counts(WebhookEvent.objects.filter(ordering_key__in=keys).delete()[1])
    counts += named_counts(DeliveryLine.objects.filter(ordering_key__in=keys).delete()[1])
    counts += named_counts(Conversation.objects.filter(pk__in=conversation_ids).delete()[1])
    return counts


def conversation_sizes(conversation_ids: Iterable) -> dict[str, int]:
    """Return how many conversations, events, handoffs and tickets there are (to confirm)."""
    conversation_ids = list(conversation_ids)
    return {
        "conversations": len(conversation_ids),
        "events": Event.objects.filter(conversation_id__in=conversation_ids).count(),
        "handoffs": Handoff.objects.filter(conversation_id__in=conversation_ids).count(),
        "tickets": Ticket.objects.filter(conversation_id__in=conversation_ids).count(),
    }
