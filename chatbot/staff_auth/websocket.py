"""Guard a staff websocket by its session: refuse an ended one, and close when it ends.

Wraps a consumer behind Channels' AuthMiddlewareStack. At connect, a session that has ended
(idle, signed out everywhere, signed out, or an administrator's not verified by the second
factor) reaches the consumer as an anonymous user. While open, the socket re-checks its session
every STAFF_SESSION_CHECK_SECONDS and at once when its user signs out everywhere, and closes
with CLOSE_SESSION_ENDED. The user's own console actions count as activity; the console's
heartbeat does not, so an open but unattended console still goes idle.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from django.contrib.auth.models import AnonymousUser

from chatbot import bounded_json
from chatbot.staff_auth import clock, sessions

logger = logging.getLogger(__name__)

CLOSE_SESSION_ENDED = 4401
# A frame longer than this is not parsed here (the consumer refuses it): it counts as activity.
MAX_PARSED_CHARS = 16_000
AUTOMATIC_FRAMES = ("ping",)
# A heartbeat is a flat object; anything deeper is not one (and is not parsed further).
MAX_PARSED_DEPTH = 4


class StaffSessionGuard:
    """ASGI middleware for a staff socket's session."""

    def __init__(self, inner) -> None:
        self.inner = inner

    async def __call__(self, scope, receive, send):
        user = scope.get("user")
        if user is None or not user.is_authenticated:
            return await self.inner(scope, receive, send)
        session_key = scope["session"].session_key
        if await database_sync_to_async(sessions.why_socket_session_ended)(session_key, user):
            return await self.inner(dict(scope, user=AnonymousUser()), receive, send)
        return await GuardedSocket(session_key, user).run(self.inner, scope, receive, send)


class GuardedSocket:
    """One open staff socket, closed when its session ends."""

    def __init__(self, session_key: str, user) -> None:
        self.session_key = session_key
        self.user = user
        self.ended = asyncio.Event()
        self.is_closed = False
        self.activity_noted_at = 0.0

    async def run(self, inner, scope, receive, send):
        self.receive_from_client, self.send_to_client = receive, send
        watchdog = asyncio.ensure_future(self.watch())
        try:
            return await inner(scope, self.receive, self.send)
        finally:
            watchdog.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watchdog

    async def receive(self) -> dict:
        if not self.ended.is_set():
            receiving = asyncio.ensure_future(self.receive_from_client())
            ending = asyncio.ensure_future(self.ended.wait())
            await asyncio.wait({receiving, ending}, return_when=asyncio.FIRST_COMPLETED)
            ending.cancel()
            if receiving.done():
                message = receiving.result()
                await self.note_activity(message)
                return message
            receiving.cancel()
        if not self.is_closed:
            await self.send_to_client({"type": "websocket.close", "code": CLOSE_SESSION_ENDED})
            self.is_closed = True
        return {"type": "websocket.disconnect", "code": CLOSE_SESSION_ENDED}

    async def send(self, message: dict) -> None:
        # After the guard closed the socket, what the consumer still sends goes nowhere.
        if not self.is_closed:
            await self.send_to_client(message)
            self.is_closed = message["type"] == "websocket.close"

    async def watch(self) -> None:
        """Re-check the session on a timer and whenever the user's sessions change."""
        layer = get_channel_layer()
        channel = await layer.new_channel()
        group = sessions.sessions_group(self.user.pk)
        await layer.group_add(group, channel)
        try:
            while True:
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(
                        layer.receive(channel), timeout=settings.STAFF_SESSION_CHECK_SECONDS
                    )
                try:
                    ended = await database_sync_to_async(sessions.why_socket_session_ended)(
                        self.session_key, self.user
                    )
                except Exception:
                    # A database that is briefly away must not leave the socket unwatched.
                    logger.exception("could not check a staff socket's session; will retry")
                    continue
                if ended:
                    self.ended.set()
                    return
        finally:
            await layer.group_discard(group, channel)

    async def note_activity(self, message: dict) -> None:
        if message.get("type") != "websocket.receive" or not _is_users_own(message):
            return
        now = clock.now().timestamp()
        if now - self.activity_noted_at < sessions.ACTIVITY_RESOLUTION_SECONDS:
            return
        self.activity_noted_at = now
        await database_sync_to_async(sessions.note_socket_activity)(self.session_key)


def _is_users_own(message: dict) -> bool:
    """Return whether a frame is the user's doing, not the console's automatic heartbeat."""
    text = message.get("text") or ""
    if len(text) > MAX_PARSED_CHARS:
        return True
    try:
        frame = bounded_json.loads(text, MAX_PARSED_DEPTH)
    except ValueError:  # TooDeeplyNested included: a hostile frame is the user's doing too
        return True
    return not (isinstance(frame, dict) and frame.get("type") in AUTOMATIC_FRAMES)
