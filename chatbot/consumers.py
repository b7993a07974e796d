"""The widget's websocket: validate a frame, check access, persist, hand on. No bot logic."""

import asyncio
import json
import logging
import time

from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings

from chatbot import actions, log_context, metrics
from chatbot.admission import current_load
from chatbot.database_threads import database_call
from chatbot.frames import FrameError, Limits, parse_frame
from chatbot.groups import conversation_group
from chatbot.identity import InvalidIdentity, verify_identity
from chatbot.locks import LockTimeout, conversation_lock
from chatbot.models import Conversation
from chatbot.nlu.client import PendingClassifications
from chatbot.personal_data import notice
from chatbot.rate_limit import SlidingWindow, hit_visitor_message_limit
from chatbot.tokens import ExpiredToken, InvalidToken
from chatbot.turns import answer_unanswered_messages
from chatbot.visitor_access import VisitorSession, admit_visitor
from handoff import actions as handoff_actions
from handoff.status import current_status_frame

logger = logging.getLogger(__name__)

CLOSE_BAD_TOKEN = 4401
CLOSE_BAD_IDENTITY = 4402
CLOSE_NO_HELLO = 4408
# The websocket's own "try again later".
CLOSE_BUSY = 1013
REPLAY_BATCH = 500
LOCAL_ONLY_FRAMES = ("stream_start", "stream_delta", "stream_replace")
# The handoff status while the bot has the conversation (no handoff open).
BOT_STATUS = {"type": "handoff", "status": "bot"}


def _state_of(conversation_id) -> dict:
    return Conversation.objects.values_list("state", flat=True).get(pk=conversation_id)


class ChatConsumer(AsyncWebsocketConsumer):
    """One visitor socket. The channel layer only notifies; the database carries delivery."""

    async def connect(self) -> None:
        # The socket's handlers and the turns it starts all run in this context: their log
        # lines carry the socket's request id, and the conversation's id once it is known.
        log_context.request_id.set(log_context.accepted_request_id(self._header(b"x-request-id")))
        self.session: VisitorSession | None = None
        self.load = current_load()
        self.is_counted = False
        self.hello_deadline: asyncio.TimerHandle | None = None
        self.limits = Limits(settings.CHAT_MAX_FRAME_BYTES, settings.CHAT_MAX_MESSAGE_CHARS)
        # Any frame counts here; messages also count against the visitor's own limit.
        self.frame_budget = SlidingWindow(
            max(60, 3 * settings.CHAT_RATE_LIMIT_MESSAGES), settings.CHAT_RATE_LIMIT_WINDOW_SECONDS
        )
        self.turn_requested = asyncio.Event()
        self.turn_worker: asyncio.Task | None = None
        self.is_closed = False
        self.classifications = PendingClassifications(self.channel_name)
        await self.accept()
        refusal = self.load.refuse_socket()
        if refusal is not None:
            metrics.REFUSED_BUSY.labels("socket").inc()
            # Before any hello: the visitor's conversation is untouched, the widget retries.
            await self.send_frame(
                {
                    "type": "error",
                    "code": "busy",
                    "message": "The assistant is very busy right now; please try again shortly.",
                    "retry_after": refusal.retry_after,
                }
            )
            await self.close(code=CLOSE_BUSY)
            return
        self.load.open_sockets += 1
        self.is_counted = True
        metrics.WEBSOCKETS_OPEN.labels("widget").inc()
        self.hello_deadline = asyncio.get_running_loop().call_later(
            settings.CHAT_HELLO_TIMEOUT_SECONDS,
            lambda: asyncio.ensure_future(self._close_without_hello()),
        )

    def _header(self, name: bytes) -> str | None:
        """A header of the handshake; ASGI gives header names in lower case."""
        for key, value in self.scope.get("headers", ()):
            if key == name:
                return value.decode("latin-1")
        return None

    async def disconnect(self, code: int) -> None:
        self.is_closed = True
        if self.hello_deadline is not None:
            self.hello_deadline.cancel()
        if self.is_counted:
            self.load.open_sockets -= 1
            self.is_counted = False
            metrics.WEBSOCKETS_OPEN.labels("widget").dec()
        self.load.awaiting.discard(self)
        if self.turn_worker is not None:
            # A turn under way is finished and committed, not cut off: its reply is
            # then waiting for the visitor's next connection.
            self.turn_requested.set()
            await asyncio.wait([self.turn_worker], timeout=settings.CHAT_LOCK_TIMEOUT_SECONDS)
            self.turn_worker.cancel()
        if self.session is not None:
            await self.channel_layer.group_discard(
                conversation_group(self.session.conversation_id), self.channel_name
            )

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if self.is_closed:
            return  # a socket refused as busy, closing
        try:
            retry_after = self.frame_budget.hit()
            if retry_after is not None:
                raise FrameError(
                    "rate_limited", "Too many frames; slow down.", retry_after=retry_after
                )
            frame = parse_frame(text_data, bytes_data, self.limits)
            if self.session is None and frame["type"] not in ("hello", "ping"):
                raise FrameError("not_ready", "Send 'hello' first.")
            await getattr(self, f"on_{frame['type']}")(frame)
        except FrameError as error:
            await self.send_frame(error.as_frame())

    async def on_hello(self, frame: dict) -> None:
        if self.session is not None:
            raise FrameError("already_connected", "This socket already said hello.")
        # The hello has arrived; a busy server may take a while to admit the visitor.
        self.hello_deadline.cancel()
        identity = None
        if frame["identity"] is not None:
            try:
                identity = verify_identity(
                    frame["identity"],
                    settings.CHAT_IDENTITY_SECRET,
                    settings.CHAT_IDENTITY_MAX_AGE_SECONDS,
                    time.time(),
                    previous_secret=settings.CHAT_IDENTITY_PREVIOUS_SECRET,
                )
            except InvalidIdentity as error:
                # Never trusted, and nothing stored: the widget drops it and comes back without.
                logger.warning("Refused a visitor identity: %s", error.reason)
                await self.send_frame(
                    {
                        "type": "error",
                        "code": "invalid_identity",
                        "message": f"The signed identity was refused: {error.reason}.",
                    }
                )
                await self.close(code=CLOSE_BAD_IDENTITY)
                return
        try:
            session = await database_call(admit_visitor)(frame["token"], identity)
        except (InvalidToken, ExpiredToken) as error:
            code, message = (
                ("token_expired", "Your chat session has expired; start a new one.")
                if isinstance(error, ExpiredToken)
                else ("invalid_token", "This chat token was not issued by this server.")
            )
            await self.send_frame({"type": "error", "code": code, "message": message})
            await self.close(code=CLOSE_BAD_TOKEN)
            return
        self.session = session
        log_context.conversation_id.set(str(session.conversation_id))
        # Join before replaying, so nothing committed in between is missed.
        await self.channel_layer.group_add(
            conversation_group(session.conversation_id), self.channel_name
        )
        await self.send_frame(
            {
                "type": "welcome",
                "token": session.token,
                "conversation_id": str(session.conversation_id),
                "last_seq": session.last_seq,
                "identity": session.identity,
                "limits": {"max_message_chars": self.limits.max_message_chars},
            }
        )
        await self.replay(frame["last_seq"])
        # A conversation whose only event is its start has no message to answer and has never
        # been handed over (every change of hands is an event): its opening needs no queries.
        is_fresh = session.last_seq <= 1
        # Every (re)connection learns at once who has the conversation, the bot included.
        if is_fresh:
            await self.send_frame(BOT_STATUS)
        else:
            await self._send_handoff_status()
        self.turn_worker = asyncio.create_task(self._answer_turns())
        if not is_fresh:
            # A turn cut short by a crash or a closed tab is answered now.
            self.turn_requested.set()

    async def on_message(self, frame: dict) -> None:
        refusal = self.load.refuse_message()
        if refusal is not None:
            metrics.REFUSED_BUSY.labels("message").inc()
            # Refused before it is stored: the widget keeps it and sends it again.
            raise FrameError(
                "busy",
                "The assistant is very busy right now; your message will be sent again shortly.",
                client_id=frame["client_id"],
                retry_after=refusal.retry_after,
            )
        # The slot is taken before anything is awaited, so that messages arriving together
        # cannot all pass the check. The turn worker lets it go once nothing is left to answer.
        self.load.awaiting.add(self)
        try:
            await self._store_message(frame)
        finally:
            self.turn_requested.set()

    async def _store_message(self, frame: dict) -> None:
        retry_after = await hit_visitor_message_limit(self.session.visitor_id)
        if retry_after is not None:
            raise FrameError(
                "rate_limited",
                "Too many messages; wait a moment.",
                client_id=frame["client_id"],
                retry_after=retry_after,
            )
        event, is_duplicate = await database_call(actions.record_visitor_message)(
            self.session.conversation_id, frame["client_id"], frame["text"]
        )
        ack = {
            "type": "ack",
            "client_id": event.client_id,
            "seq": event.seq,
            "duplicate": is_duplicate,
        }
        masked = event.data.get("masked")
        if masked:
            # The widget shows the visitor what was stored, and tells them what it hid.
            ack.update({"masked": masked, "text": event.text, "notice": notice(masked)})
        await self.send_frame(ack)
        if not is_duplicate:
            metrics.MESSAGES.labels("visitor").inc()
            await self.publish(event.as_frame())

    async def on_resume(self, frame: dict) -> None:
        await self.replay(frame["last_seq"])

    async def on_typing(self, frame: dict) -> None:
        await self._broadcast(
            {"type": "typing", "author": "visitor", "is_typing": frame["is_typing"]}
        )

    async def on_ping(self, frame: dict) -> None:
        await self.send_frame({"type": "pong"})

    async def on_handoff_request(self, frame: dict) -> None:
        conversation_id = self.session.conversation_id
        # Under the conversation's lock, so a turn being answered finishes first.
        async with conversation_lock(conversation_id):
            state = await database_call(_state_of)(conversation_id)
            handoff, is_new = await database_call(handoff_actions.open_handoff)(
                conversation_id, "requested", state.get("active_intent")
            )
        if not is_new and handoff.status in handoff.OPEN_STATUSES:
            # Asked again while one is open: say where things stand rather than stay silent.
            # A new one needs no word here: the queue's own frame tells every socket once.
            await self._send_handoff_status()

    async def on_handoff_cancel(self, frame: dict) -> None:
        cancelled = await database_call(handoff_actions.cancel_by_visitor)(
            self.session.conversation_id
        )
        if cancelled is None:
            await self._send_handoff_status()

    async def _send_handoff_status(self) -> None:
        status = await database_call(current_status_frame)(self.session.conversation_id)
        await self.send_frame(status or BOT_STATUS)

    async def on_leave_message(self, frame: dict) -> None:
        await database_call(handoff_actions.leave_message)(
            self.session.conversation_id, frame["text"], frame["contact"]
        )
        await self.send_frame({"type": "handoff", "status": "message_left"})

    async def on_rate(self, frame: dict) -> None:
        try:
            await database_call(handoff_actions.rate)(self.session.conversation_id, frame["score"])
        except handoff_actions.HandoffError as error:
            raise FrameError(error.code, str(error)) from None
        await self.send_frame({"type": "handoff", "status": "rated"})

    async def on_feedback(self, frame: dict) -> None:
        try:
            feedback = await database_call(actions.record_answer_feedback)(
                self.session.conversation_id, frame["seq"], frame["rating"]
            )
        except actions.UnknownAnswer:
            raise FrameError(
                "unknown_event",
                f"There is no answer of the assistant numbered {frame['seq']} in this chat.",
                seq=frame["seq"],
            ) from None
        await self.send_frame(
            {"type": "feedback_saved", "seq": frame["seq"], "rating": feedback.rating}
        )

    async def replay(self, after_seq: int) -> None:
        """Send every stored event after `after_seq`, in order, then `synced`."""
        last_sent = after_seq
        while True:
            batch = await self._load_events(after_seq=last_sent)
            for event_frame in batch:
                await self.send_frame(event_frame)
                last_sent = event_frame["seq"]
            if len(batch) < REPLAY_BATCH:
                break
        await self.send_frame({"type": "synced", "last_seq": last_sent})

    @database_call
    def _load_events(self, after_seq: int) -> list[dict]:
        conversation = Conversation(pk=self.session.conversation_id)
        events = conversation.events_after(after_seq).select_related("feedback")
        return [event.as_replayed_frame() for event in events[:REPLAY_BATCH]]

    async def publish(self, frame: dict) -> None:
        """Send a frame to this socket, and what other sockets need to every other one.

        A reply's deltas stay on the socket that asked: the others get the committed reply with
        `stream_end`, which saves the channel layer a message per delta.
        """
        await self.send_frame(frame)
        if frame["type"] not in LOCAL_ONLY_FRAMES:
            await self._broadcast(frame)

    async def publish_all(self, frames: list[dict]) -> None:
        """Publish frames that go together, such as a turn's committed replies and the end of
        its typing: the other sockets get them in one channel-layer message."""
        for frame in frames:
            await self.send_frame(frame)
        shared = [frame for frame in frames if frame["type"] not in LOCAL_ONLY_FRAMES]
        if len(shared) == 1:
            await self._broadcast(shared[0])
        elif shared:
            await self._fan_out({"type": "conversation.frames", "frames": shared})

    async def _broadcast(self, frame: dict) -> None:
        await self._fan_out({"type": "conversation.frame", "frame": frame})

    async def _fan_out(self, message: dict) -> None:
        """Send a channel-layer message to every socket of this conversation, this one too."""
        await self.channel_layer.group_send(
            conversation_group(self.session.conversation_id),
            {
                **message,
                "origin": self.channel_name,
                "conversation_id": str(self.session.conversation_id),
            },
        )

    async def conversation_frame(self, message: dict) -> None:
        """Forward a frame another socket published on this conversation."""
        if message["origin"] != self.channel_name:
            await self.send_frame(message["frame"])
            if message["frame"].get("type") == "erased":
                # The conversation and its visitor are gone: the widget forgets its token.
                await self.close(code=CLOSE_BAD_TOKEN)

    async def conversation_frames(self, message: dict) -> None:
        """Forward frames another socket published together on this conversation."""
        if message["origin"] != self.channel_name:
            for frame in message["frames"]:
                await self.send_frame(frame)

    async def close(self, code: int | None = None, reason: str | None = None) -> None:
        """Close the socket; nothing is sent on it afterwards."""
        self.is_closed = True
        await super().close(code=code, reason=reason)

    async def nlu_result(self, message: dict) -> None:
        """Take a classification a worker sent to this socket's channel."""
        self.classifications.resolve(message["request_id"], message["result"])

    async def send_frame(self, frame: dict) -> None:
        """Send a frame to this socket; a socket the visitor closed is skipped, not an error."""
        if self.is_closed:
            return
        try:
            await self.send(text_data=json.dumps(frame, separators=(",", ":"), ensure_ascii=False))
        except OSError:
            # The server noticed the close before Channels delivered the disconnect event.
            self.is_closed = True

    async def _answer_turns(self) -> None:
        while not self.is_closed:
            await self.turn_requested.wait()
            self.turn_requested.clear()
            try:
                await answer_unanswered_messages(
                    self.session.conversation_id, self, self.classifications.classify
                )
            except LockTimeout:
                logger.warning("Conversation %s stayed locked", self.session.conversation_id)
                self.turn_requested.set()
            except Exception:
                logger.exception("Answering conversation %s failed", self.session.conversation_id)
            if not self.turn_requested.is_set():
                self.load.awaiting.discard(self)

    async def _close_without_hello(self) -> None:
        if self.session is None:
            await self.send_frame(
                {"type": "error", "code": "not_ready", "message": "No 'hello' received in time."}
            )
            await self.close(code=CLOSE_NO_HELLO)
