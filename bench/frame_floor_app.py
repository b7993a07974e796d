"""The websocket stack with nothing on it: what a message costs before any turn work.

An ASGI app for `bench/frame_floor.py`. Its consumer answers each visitor message with the
frames a real turn sends (ack, the stored visitor event, typing on, then the bot's event and
typing off through one channel-layer group message, as the turn fans out its replies), built
from the same Channels, uvicorn and websockets code, but with no database, no lock, no model
and no thread hop. Whatever a message costs here, a real turn cannot cost less.
"""

import django
from django.conf import settings

if not settings.configured:
    settings.configure(
        CHANNEL_LAYERS={"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}},
        INSTALLED_APPS=["channels"],
    )
    django.setup()

from channels.generic.websocket import AsyncJsonWebsocketConsumer  # noqa: E402
from channels.routing import URLRouter  # noqa: E402
from django.urls import path  # noqa: E402

BOT_TEXT = (
    "You can see your card's limits in the app under Cards, then Limits. A daily cash limit "
    "applies to withdrawals; purchases have a monthly limit you can raise yourself."
)


class FloorConsumer(AsyncJsonWebsocketConsumer):
    """Echoes a turn's frames: three sent directly, two through the group."""

    async def connect(self) -> None:
        self.seq = 0
        self.group = f"conversation-{id(self)}"
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive_json(self, content: dict, **kwargs) -> None:
        if content.get("type") != "message":
            return
        self.seq += 1
        client_id = content.get("client_id")
        await self.send_json(
            {"type": "ack", "client_id": client_id, "seq": self.seq, "duplicate": False}
        )
        await self.send_json(self.event(self.seq, "visitor", content.get("text", ""), client_id))
        await self.send_json({"type": "typing", "author": "bot", "is_typing": True})
        self.seq += 1
        await self.channel_layer.group_send(
            self.group, {"type": "turn.done", "event": self.event(self.seq, "bot", BOT_TEXT, None)}
        )

    async def turn_done(self, message: dict) -> None:
        await self.send_json(message["event"])
        await self.send_json({"type": "typing", "author": "bot", "is_typing": False})

    @staticmethod
    def event(seq: int, author: str, text: str, client_id: str | None) -> dict:
        return {
            "type": "event",
            "seq": seq,
            "kind": "message",
            "author": author,
            "text": text,
            "client_id": client_id,
            "created_at": "2026-12-05T10:00:00.000Z",
        }


application = URLRouter([path("ws/floor/", FloorConsumer.as_asgi())])
