"""Tell the people concerned: the visitor's sockets, one agent's console, or every agent's.

Called after a commit (writes never notify before their rows exist). Works from a consumer's
event loop and from a Celery worker alike.
"""

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from chatbot.groups import conversation_group

AGENTS_GROUP = "agents"


def agent_group(agent_id: int) -> str:
    """Return the channel-layer group of one agent's console sockets."""
    return f"agent.{agent_id}"


def to_conversation(conversation_id, frame: dict) -> None:
    """Send a frame to every socket watching the conversation: visitor tabs and the agent."""
    _send(
        conversation_group(conversation_id),
        {
            "type": "conversation.frame",
            "frame": frame,
            "origin": "server",
            "conversation_id": str(conversation_id),
        },
    )


def to_agent(agent_id: int, frame: dict) -> None:
    """Send a frame to one agent's consoles."""
    _send(agent_group(agent_id), {"type": "console.frame", "frame": frame})


def to_agents(frame: dict) -> None:
    """Send a frame to every agent's consoles (each filters what is not theirs)."""
    _send(AGENTS_GROUP, {"type": "console.frame", "frame": frame})


def _send(group: str, message: dict) -> None:
    layer = get_channel_layer()
    try:
        async_to_sync(layer.group_send)(group, message)
    except RuntimeError:
        # Called on an event loop's own thread: hand the send to the loop instead.
        import asyncio

        asyncio.get_running_loop().create_task(layer.group_send(group, message))
