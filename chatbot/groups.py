"""Channel-layer group names, shared by the consumers and whoever notifies them."""


def conversation_group(conversation_id: object) -> str:
    """Return the channel-layer group of everyone watching a conversation."""
    return f"conversation.{conversation_id}"


async def has_other_members(channel_layer, group: str) -> bool:
    """Return whether `group` holds a channel besides the asker's; True when it cannot tell.

    One cheap read instead of a fan-out that would come back only to its sender: a visitor
    usually has one tab. A socket that joins after this check replays the conversation from the
    database after joining, so it still reads whatever was committed before the check.
    """
    size = getattr(channel_layer, "group_size", None)
    if size is not None:
        return await size(group) > 1
    groups = getattr(channel_layer, "groups", None)  # the in-memory layer's own table
    if isinstance(groups, dict):
        return len(groups.get(group, ())) > 1
    return True
