"""A small widget-protocol client over Channels' WebsocketCommunicator, for tests."""

import json
import uuid

from channels.testing.websocket import WebsocketCommunicator

from chatbot.asgi import application

ALLOWED_ORIGIN = "http://localhost:8000"
TIMEOUT = 10


class WidgetClient:
    """Speak the widget protocol to the real ASGI application."""

    def __init__(self, origin: str | None = ALLOWED_ORIGIN) -> None:
        headers = [(b"origin", origin.encode())] if origin else []
        self.communicator = WebsocketCommunicator(application, "/ws/chat/", headers=headers)
        self.token: str | None = None
        self.conversation_id: str | None = None
        self.handoff_status: dict | None = None

    async def connect(self) -> bool:
        connected, _ = await self.communicator.connect(timeout=TIMEOUT)
        return connected

    async def close(self) -> None:
        await self.communicator.disconnect(timeout=TIMEOUT)

    async def send(self, frame: dict) -> None:
        await self.communicator.send_to(text_data=json.dumps(frame))

    async def send_raw(self, text: str | None = None, binary: bytes | None = None) -> None:
        await self.communicator.send_to(text_data=text, bytes_data=binary)

    async def receive(self) -> dict:
        return json.loads(await self.communicator.receive_from(timeout=TIMEOUT))

    async def receive_output(self) -> dict:
        """Return the next raw ASGI message (to see a close)."""
        return await self.communicator.receive_output(timeout=TIMEOUT)

    async def receive_until(self, frame_type: str, **match: object) -> list[dict]:
        """Return every frame up to and including the first of `frame_type` matching `match`."""
        frames = []
        while True:
            frame = await self.receive()
            frames.append(frame)
            if frame["type"] == frame_type and all(frame.get(k) == v for k, v in match.items()):
                return frames

    async def receive_nothing(self) -> bool:
        return await self.communicator.receive_nothing(timeout=0.3)

    async def hello(
        self, token: str | None = None, last_seq: int = 0, identity: dict | None = None
    ) -> list[dict]:
        """Say hello (as a signed-in customer with `identity`); return the welcome, the
        replayed events and synced.

        The handoff status that follows `synced` is kept in `handoff_status`.
        """
        frame = {"type": "hello", "token": token, "last_seq": last_seq}
        if identity is not None:
            frame["identity"] = identity
        await self.send(frame)
        frames = await self.receive_until("synced")
        welcome = frames[0]
        assert welcome["type"] == "welcome", welcome
        self.token = welcome["token"]
        self.conversation_id = welcome["conversation_id"]
        self.handoff_status = await self.receive()
        assert self.handoff_status["type"] == "handoff", self.handoff_status
        return frames

    async def say(self, text: str, client_id: str | None = None) -> dict:
        """Send a message and return its ack."""
        client_id = client_id or str(uuid.uuid4())
        await self.send({"type": "message", "client_id": client_id, "text": text})
        frames = await self.receive_until("ack", client_id=client_id)
        return frames[-1]

    async def receive_answer(self) -> list[dict]:
        """Return the frames of one bot answer, up to the typing indicator going off."""
        return await self.receive_until("typing", author="bot", is_typing=False)


def events_in(frames: list[dict]) -> list[dict]:
    """Return the stored events among frames, including those inside stream_end."""
    events = []
    for frame in frames:
        if frame["type"] == "event":
            events.append(frame)
        elif frame["type"] == "stream_end":
            events.append(frame["event"])
    return events
