"""The agent console's websocket: check the agent, route each frame to a handoff action, relay.

Thin: every decision lives in `handoff.actions`. An agent receives the queue they may take from,
their offers and assignments, and the live events of the conversations assigned to them.
"""

from __future__ import annotations

import json
import logging

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer

from chatbot import bounded_json, metrics, personal_data_storage
from chatbot.audit import actions as audit
from chatbot.groups import conversation_group
from chatbot.visible_text import has_visible_text
from handoff import actions, notify
from handoff.models import Agent, Handoff
from handoff.packet import handoff_packet
from handoff.roles import can_use_console

logger = logging.getLogger(__name__)

CLOSE_FORBIDDEN = 4403
MAX_FRAME_CHARS = 16_000
# The console's frames are flat objects; a little room is left for clients that add metadata.
MAX_FRAME_DEPTH = 8
MAX_TEXT_CHARS = 2000
DISPOSITIONS = ("resolved", "unresolved", "escalated", "spam")


class AgentFrameError(Exception):
    def __init__(self, code: str, message: str, handoff_id: object = None) -> None:
        super().__init__(message)
        self.frame = {"type": "error", "code": code, "message": message, "handoff_id": handoff_id}


class AgentConsumer(AsyncWebsocketConsumer):
    """One agent's console socket."""

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not await database_sync_to_async(can_use_console)(user):
            await self.close(code=CLOSE_FORBIDDEN)
            return
        self.agent = await database_sync_to_async(Agent.for_user)(user)
        # Said in `hello`, so the console offers to reveal originals only where it may.
        self.may_reveal = await database_sync_to_async(_may_reveal)(user)
        # Conversation id -> handoff id, for the conversations this agent is chatting in.
        self.conversations: dict[str, int] = {}
        await self.accept()
        metrics.WEBSOCKETS_OPEN.labels("console").inc()
        await self.channel_layer.group_add(notify.AGENTS_GROUP, self.channel_name)
        await self.channel_layer.group_add(notify.agent_group(self.agent.pk), self.channel_name)
        self.agent = await database_sync_to_async(actions.connection_opened)(
            self.agent, self.channel_name
        )
        await self._send_hello()
        for packet in await database_sync_to_async(_assigned_packets)(self.agent):
            await self._join(packet)
        await self._send_queue()

    async def disconnect(self, code: int) -> None:
        if not hasattr(self, "agent"):
            return
        metrics.WEBSOCKETS_OPEN.labels("console").dec()
        await self.channel_layer.group_discard(notify.AGENTS_GROUP, self.channel_name)
        await self.channel_layer.group_discard(notify.agent_group(self.agent.pk), self.channel_name)
        for conversation_id in list(self.conversations):
            await self.channel_layer.group_discard(
                conversation_group(conversation_id), self.channel_name
            )
        await database_sync_to_async(actions.connection_closed)(self.agent, self.channel_name)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        frame: dict = {}
        try:
            frame = _parse(text_data)
            handler = getattr(self, f"on_{frame['type']}", None)
            if handler is None:
                raise AgentFrameError("unknown_type", f"Unknown frame type {frame['type'][:40]!r}.")
            await handler(frame)
        except AgentFrameError as error:
            await self.send_frame(error.frame)
        except actions.HandoffError as error:
            await self.send_frame(
                {
                    "type": "error",
                    "code": error.code,
                    "message": str(error),
                    "handoff_id": frame.get("handoff_id"),
                }
            )

    # Frames from the console ---------------------------------------------------------------

    async def on_availability(self, frame: dict) -> None:
        is_online = _boolean(frame, "online")
        self.agent = await database_sync_to_async(actions.set_availability)(self.agent, is_online)
        await self._send_hello()
        await self._send_queue()

    async def on_accept(self, frame: dict) -> None:
        await database_sync_to_async(actions.accept)(_handoff_id(frame), self.agent)

    async def on_decline(self, frame: dict) -> None:
        await database_sync_to_async(actions.decline)(_handoff_id(frame), self.agent)

    async def on_message(self, frame: dict) -> None:
        handoff_id, text = _handoff_id(frame), _text(frame)
        client_id = frame.get("client_id")
        if not isinstance(client_id, str) or not 0 < len(client_id) <= 40:
            raise AgentFrameError(
                "invalid_field", "'client_id' must be 1 to 40 characters.", handoff_id
            )
        event, is_duplicate = await database_sync_to_async(actions.agent_message)(
            handoff_id, self.agent, client_id, text
        )
        if not is_duplicate:
            metrics.MESSAGES.labels("agent").inc()
        await self.send_frame(
            {
                "type": "ack",
                "handoff_id": handoff_id,
                "client_id": client_id,
                "seq": event.seq,
                "duplicate": is_duplicate,
            }
        )

    async def on_typing(self, frame: dict) -> None:
        handoff_id = _handoff_id(frame)
        conversation_id = next((c for c, h in self.conversations.items() if h == handoff_id), None)
        if conversation_id is None:
            raise AgentFrameError(
                "not_yours", "This conversation is not assigned to you.", handoff_id
            )
        await self.channel_layer.group_send(
            conversation_group(conversation_id),
            {
                "type": "conversation.frame",
                "origin": self.channel_name,
                "conversation_id": conversation_id,
                "frame": {
                    "type": "typing",
                    "author": "agent",
                    "is_typing": _boolean(frame, "is_typing"),
                },
            },
        )

    async def on_reveal(self, frame: dict) -> None:
        """Send this console alone a masked message's original: allowed roles only, audited."""
        handoff_id, seq = _handoff_id(frame), frame.get("seq")
        if isinstance(seq, bool) or not isinstance(seq, int) or seq < 1:
            raise AgentFrameError("invalid_field", "'seq' must be a message's number.", handoff_id)
        original = await database_sync_to_async(actions.reveal_original)(
            handoff_id, self.agent, seq
        )
        await self.send_frame(
            {"type": "revealed", "handoff_id": handoff_id, "seq": seq, "text": original}
        )

    async def on_note(self, frame: dict) -> None:
        handoff_id = _handoff_id(frame)
        note = await database_sync_to_async(actions.add_note)(handoff_id, self.agent, _text(frame))
        await self.send_frame(
            {
                "type": "note",
                "handoff_id": handoff_id,
                "note": {
                    "author": self.agent.display_name,
                    "text": note.text,
                    "at": note.created_at.isoformat(),
                },
            }
        )

    async def on_transfer(self, frame: dict) -> None:
        handoff_id = _handoff_id(frame)
        to_agent, skill = frame.get("agent_id"), frame.get("skill")
        if not (isinstance(to_agent, int) and not isinstance(to_agent, bool)) and not isinstance(
            skill, str
        ):
            raise AgentFrameError(
                "invalid_field", "Give an agent_id or a skill to transfer to.", handoff_id
            )
        await database_sync_to_async(actions.transfer)(
            handoff_id, self.agent, to_agent if isinstance(to_agent, int) else None, skill
        )

    async def on_hand_back(self, frame: dict) -> None:
        await database_sync_to_async(actions.hand_back)(_handoff_id(frame), self.agent)

    async def on_close(self, frame: dict) -> None:
        disposition = frame.get("disposition")
        if disposition not in DISPOSITIONS:
            raise AgentFrameError(
                "invalid_field", f"'disposition' must be one of {', '.join(DISPOSITIONS)}."
            )
        await database_sync_to_async(actions.close)(_handoff_id(frame), self.agent, disposition)

    async def on_ping(self, frame: dict) -> None:
        # The console's heartbeat: while it comes, the agent counts as present.
        await database_sync_to_async(actions.connection_heard)(self.agent, self.channel_name)
        await self.send_frame({"type": "pong"})

    # Frames from the server ----------------------------------------------------------------

    async def console_frame(self, message: dict) -> None:
        """Relay a frame for agents: offers, assignments, releases, queue changes."""
        frame = message["frame"]
        kind = frame.get("type")
        if kind == "queue_changed":
            await self._send_queue()
        elif kind == "assigned":
            await self._join(frame["packet"])
        elif kind == "released":
            if frame.get("except_agent") == self.agent.pk:
                return
            await self._leave(frame["handoff_id"])
            await self.send_frame({k: v for k, v in frame.items() if k != "except_agent"})
        else:
            await self.send_frame(frame)

    async def conversation_frames(self, message: dict) -> None:
        """Relay frames a visitor's socket published together (a turn's end)."""
        for frame in message["frames"]:
            await self.conversation_frame({**message, "frame": frame})

    async def conversation_frame(self, message: dict) -> None:
        """Relay what happens in a conversation this agent is chatting in."""
        handoff_id = self.conversations.get(message.get("conversation_id", ""))
        frame = message["frame"]
        if handoff_id is None or message.get("origin") == self.channel_name:
            return
        if frame.get("type") == "event":
            await self.send_frame({"type": "event", "handoff_id": handoff_id, "event": frame})
        elif frame.get("type") == "typing" and frame.get("author") == "visitor":
            await self.send_frame(
                {
                    "type": "typing",
                    "handoff_id": handoff_id,
                    "author": "visitor",
                    "is_typing": frame.get("is_typing", False),
                }
            )

    async def send_frame(self, frame: dict) -> None:
        await self.send(
            text_data=json.dumps(frame, separators=(",", ":"), ensure_ascii=False, default=str)
        )

    async def _join(self, packet: dict) -> None:
        self.conversations[packet["conversation_id"]] = packet["handoff_id"]
        await self.channel_layer.group_add(
            conversation_group(packet["conversation_id"]), self.channel_name
        )
        # The packet carries the transcript: sending it opens the transcript to this agent.
        await database_sync_to_async(_record_transcript_opened)(self.scope, packet)
        await self.send_frame({"type": "assigned", "packet": packet})

    async def _leave(self, handoff_id: int) -> None:
        for conversation_id, known in list(self.conversations.items()):
            if known == handoff_id:
                del self.conversations[conversation_id]
                await self.channel_layer.group_discard(
                    conversation_group(conversation_id), self.channel_name
                )

    async def _send_hello(self) -> None:
        hello = await database_sync_to_async(actions.hello_frame)(self.agent)
        await self.send_frame({**hello, "may_reveal": self.may_reveal})

    async def _send_queue(self) -> None:
        items = await database_sync_to_async(actions.visible_queue)(self.agent)
        await self.send_frame({"type": "queue", "items": items})


def _parse(text: str | None) -> dict:
    if text is None or len(text) > MAX_FRAME_CHARS:
        raise AgentFrameError(
            "invalid_frame", f"Frames are JSON text of at most {MAX_FRAME_CHARS} characters."
        )
    try:
        frame = bounded_json.loads(text, MAX_FRAME_DEPTH)
    except bounded_json.TooDeeplyNested as error:
        raise AgentFrameError("invalid_frame", str(error)) from None
    except ValueError:
        raise AgentFrameError("invalid_json", "The frame is not valid JSON.") from None
    if not isinstance(frame, dict) or not isinstance(frame.get("type"), str):
        raise AgentFrameError(
            "invalid_frame", "A frame must be a JSON object with a string 'type'."
        )
    return frame


def _handoff_id(frame: dict) -> int:
    value = frame.get("handoff_id")
    if isinstance(value, bool) or not isinstance(value, int):
        raise AgentFrameError("invalid_field", "'handoff_id' must be a number.")
    return value


def _text(frame: dict) -> str:
    text = frame.get("text")
    if not isinstance(text, str) or not has_visible_text(text) or len(text) > MAX_TEXT_CHARS:
        raise AgentFrameError(
            "invalid_field",
            f"'text' must be 1 to {MAX_TEXT_CHARS} characters.",
            frame.get("handoff_id"),
        )
    return text.strip()


def _boolean(frame: dict, name: str) -> bool:
    value = frame.get(name)
    if not isinstance(value, bool):
        raise AgentFrameError("invalid_field", f"'{name}' must be true or false.")
    return value


def _record_transcript_opened(scope: dict, packet: dict) -> None:
    client = scope.get("client") or (None,)
    audit.record(
        audit.TRANSCRIPT_OPENED,
        user=scope["user"],
        address=client[0],
        target_type="conversation",
        target_id=packet["conversation_id"],
        details={"handoff": packet["handoff_id"], "via": "console"},
    )


def _may_reveal(user) -> bool:
    return personal_data_storage.may_reveal(user) and personal_data_storage.keeps_originals()


def _assigned_packets(agent: Agent) -> list[dict]:
    return [
        handoff_packet(handoff)
        for handoff in Handoff.objects.filter(
            assigned_to=agent, status=Handoff.Status.ASSIGNED
        ).select_related("conversation", "skill", "assigned_to")
    ]
