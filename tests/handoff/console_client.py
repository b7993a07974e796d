"""The agent console's websocket protocol over Channels' WebsocketCommunicator, for tests."""

import json

from channels.testing.websocket import WebsocketCommunicator
from django.conf import settings
from django.test import Client

from chatbot.asgi import application

TIMEOUT = 15


def session_cookie(user) -> str:
    """Log the user in and return the session cookie header value."""
    client = Client()
    client.force_login(user)
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"


class ConsoleClient:
    """Speak the console protocol to the real ASGI application, as a logged-in user or nobody."""

    def __init__(self, cookie: str | None = None, origin: str = "http://localhost:8000") -> None:
        headers = [(b"origin", origin.encode())]
        if cookie:
            headers.append((b"cookie", cookie.encode()))
        self.communicator = WebsocketCommunicator(application, "/ws/agent/", headers=headers)

    async def connect(self) -> tuple[bool, int | None]:
        connected, code = await self.communicator.connect(timeout=TIMEOUT)
        if not connected:
            # Let the refused application end now, rather than leave a task for the event
            # loop's teardown to cancel.
            await self.communicator.disconnect(timeout=TIMEOUT)
        return connected, code

    async def close(self) -> None:
        await self.communicator.disconnect(timeout=TIMEOUT)

    async def send(self, frame: dict) -> None:
        await self.communicator.send_to(text_data=json.dumps(frame))

    async def receive(self) -> dict:
        return json.loads(await self.communicator.receive_from(timeout=TIMEOUT))

    async def receive_until(self, frame_type: str, **match: object) -> list[dict]:
        frames = []
        while True:
            frame = await self.receive()
            frames.append(frame)
            if frame["type"] == frame_type and all(frame.get(k) == v for k, v in match.items()):
                return frames
