"""The domains' signals that become webhook events (the graph cannot call webhooks itself)."""

from django.dispatch import receiver

from chatbot.webhooks import outbox
from chatbot.webhooks.events import KNOWLEDGE_ORDERING_KEY
from knowledge.signals import version_changed


@receiver(version_changed, dispatch_uid="webhooks.knowledge_changed")
def knowledge_changed(sender, number: int, **kwargs) -> None:
    """Queue knowledge.changed in the transaction that raised the graph's version."""
    outbox.emit("knowledge.changed", {"version": number}, KNOWLEDGE_ORDERING_KEY)
