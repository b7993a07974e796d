"""Channel-layer group names, shared by the consumers and whoever notifies them."""


def conversation_group(conversation_id: object) -> str:
    """Return the channel-layer group of everyone watching a conversation."""
    return f"conversation.{conversation_id}"
