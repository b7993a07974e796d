"""The events a subscription may ask for, and the ordering keys their deliveries line up by."""

EVENT_TYPES = {
    "conversation.started": "a visitor started a conversation",
    "message.created": "a visitor, bot, agent or integration message was stored",
    "handoff.requested": "a conversation was escalated to people (queued, or nobody available)",
    "handoff.accepted": "an agent took a conversation",
    "handoff.closed": "a handoff ended: closed by an agent or integration, or handed back",
    "ticket.created": "a visitor left a message for the team",
    "rating.submitted": "a visitor rated a closed conversation",
    "knowledge.changed": "the knowledge graph moved to a new version",
    "model.promoted": "another intent model now serves",
}

# Events without a conversation line up by what they are about.
KNOWLEDGE_ORDERING_KEY = "knowledge"
MODELS_ORDERING_KEY = "models"


def conversation_ordering_key(conversation_id) -> str:
    """Return the ordering key of a conversation's events: delivered one at a time, in order."""
    return f"conversation:{conversation_id}"
