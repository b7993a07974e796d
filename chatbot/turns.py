"""Answer a conversation's unanswered visitor messages: lock, run the engine, stream, commit."""

import asyncio
import contextvars
import logging
import threading
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Protocol

from asgiref.sync import sync_to_async

from chatbot import actions, engine, metrics, tracing
from chatbot.database_threads import database_call
from chatbot.llm import Replace
from chatbot.locks import conversation_lock
from chatbot.models import Conversation, Event
from chatbot.turn_configuration import configured_turn
from handoff import actions as handoff_actions
from handoff.state_machine import bot_may_answer
from knowledge.graph import KnowledgeGraph
from knowledge.loading import stored_version_expression
from knowledge.service import graph_at

logger = logging.getLogger(__name__)

ENGINE_FAILURE_REPLY = "Sorry, something went wrong on my side. Could you say that again?"
# Messages before the current one that a language model sees word for word.
RECENT_MESSAGES = 8
# The newest messages a turn reads in one query: enough for the message to answer and the ones
# before it, in all but a conversation with many messages waiting (then it reads them exactly).
MESSAGE_WINDOW = 2 * RECENT_MESSAGES


class ConversationOutput(Protocol):
    """Where a turn's frames go: every socket watching the conversation."""

    async def publish(self, frame: dict) -> None: ...

    async def publish_all(self, frames: list[dict]) -> None:
        """Publish frames that go together, in order (one fan-out to the other sockets)."""


# Classifies a stored message: its event id, its text, and the question it may follow up.
Understand = Callable[[int, str, str | None], Awaitable[dict]]


async def answer_unanswered_messages(
    conversation_id: uuid.UUID, output: ConversationOutput, understand: Understand | None = None
) -> int:
    """Answer every visitor message that has no completed turn, in order; return how many.

    `understand` classifies a stored message, given its event id, its text and the question it
    may follow up (on the Celery workers); without it, the engine answers without one.
    """
    async with conversation_lock(conversation_id):
        loaded = await _load_unanswered(conversation_id)
        state, owner, knowledge = loaded.state, loaded.owner, loaded.knowledge
        for index, (visitor_event_id, seq, text) in enumerate(loaded.pending):
            if not bot_may_answer(owner):
                # A person has the conversation: the message is theirs to answer (they see it
                # live); the bot records it as handled so it never answers it later.
                await database_call(actions.complete_turn)(
                    conversation_id,
                    visitor_event_id,
                    [],
                    state,
                    {"trace": {"decision": "with_person"}},
                )
                continue
            answered = await _answer_message(
                conversation_id,
                state,
                (visitor_event_id, seq, text),
                understand,
                output,
                knowledge,
                # The first message's context came with the load; a later one follows this
                # loop's own replies, so it is read again.
                loaded.recent if index == 0 else None,
            )
            state, owner = answered.state, answered.owner
        return len(loaded.pending)


async def _answer_message(
    conversation_id: uuid.UUID,
    state: dict,
    message: tuple[int, int, str],
    understand: Understand | None,
    output: ConversationOutput,
    knowledge: KnowledgeGraph,
    recent: tuple[tuple[str, str], ...] | None,
) -> "_Answered":
    """Understand and answer one visitor message, traced as one span and timed by stage."""
    visitor_event_id, seq, text = message
    attributes = {"chat.conversation_id": str(conversation_id), "chat.seq": seq}
    with tracing.tracer.start_as_current_span("chat.turn", attributes=attributes) as span:
        started = time.perf_counter()
        await output.publish({"type": "typing", "author": "bot", "is_typing": True})
        understanding = None
        if understand:
            with tracing.tracer.start_as_current_span("nlu.understand"):
                context = engine.understanding_context(state)
                understanding = await understand(visitor_event_id, text, context)
        understood = time.perf_counter()
        if recent is None:
            recent = await _recent_messages(conversation_id, seq)
        answered = await _answer_one(
            conversation_id,
            state,
            visitor_event_id,
            seq,
            text,
            understanding,
            output,
            knowledge,
            recent,
        )
        decision, handoff = answered.trace.get("decision"), answered.trace.get("handoff")
        metrics.record_turn(
            {
                "understand": understood - started,
                "engine": answered.engine_seconds,
                "store": answered.store_seconds,
                "total": time.perf_counter() - started,
            },
            decision,
            handoff,
        )
        outcome, reason = metrics.turn_outcome(decision, handoff)
        span.set_attributes(
            {
                "chat.decision": decision or "",
                "chat.intent": answered.trace.get("intent") or "",
                "chat.outcome": outcome,
                "chat.outcome_reason": reason,
            }
        )
        return answered


@dataclass(frozen=True)
class _Answered:
    """What answering one message left: the state and owner after it, how it went."""

    state: dict
    owner: str
    trace: dict
    engine_seconds: float
    store_seconds: float


@dataclass(frozen=True)
class _Unanswered:
    """What a turn needs from the database, read in one trip to the database thread."""

    state: dict
    owner: str
    # (event id, seq, text) of each visitor message without a turn, oldest first.
    pending: list[tuple[int, int, str]]
    # The messages before the first pending one, as (author, text), oldest first.
    recent: tuple[tuple[str, str], ...]
    knowledge: KnowledgeGraph


def _recent_before(conversation_id: uuid.UUID, before_seq: int) -> tuple[tuple[str, str], ...]:
    messages = Event.objects.filter(
        conversation_id=conversation_id, kind=Event.MESSAGE, seq__lt=before_seq
    ).order_by("-seq")[:RECENT_MESSAGES]
    return tuple((event.author, event.text) for event in reversed(messages))


_recent_messages = database_call(_recent_before)


@database_call
def _load_unanswered(conversation_id: uuid.UUID) -> _Unanswered:
    conversation = (
        Conversation.objects.only("state", "owner")
        .annotate(graph_version=stored_version_expression())
        .get(pk=conversation_id)
    )
    newest = list(
        Event.objects.filter(conversation_id=conversation_id, kind=Event.MESSAGE)
        .order_by("-seq")
        .values_list("id", "seq", "author", "text", "turn")[:MESSAGE_WINDOW]
    )
    split = _split_newest(newest)
    if split is None:
        pending = list(conversation.unanswered_messages().values_list("id", "seq", "text"))
        recent = _recent_before(conversation_id, pending[0][1]) if pending else ()
    else:
        pending, recent = split
    knowledge = graph_at(conversation.graph_version)
    return _Unanswered(conversation.state, conversation.owner, pending, recent, knowledge)


def _split_newest(
    newest: list[tuple[int, int, str, str, int | None]],
) -> tuple[list[tuple[int, int, str]], tuple[tuple[str, str], ...]] | None:
    """Split a conversation's newest messages (newest first, with their turn's id) into the
    unanswered visitor messages and the messages before them; None if they are not all there.

    Messages are answered in order under the conversation's lock, so the unanswered ones all
    come after the newest answered visitor message: reading back to it finds every one.
    """
    is_complete = len(newest) < MESSAGE_WINDOW
    oldest_first = newest[::-1]
    first_pending = len(oldest_first)
    for index in range(len(oldest_first) - 1, -1, -1):
        _, _, author, _, turn = oldest_first[index]
        if author == Event.Author.VISITOR:
            if turn is not None:
                break
            first_pending = index
    else:
        if not is_complete:
            return None  # the newest answered visitor message is further back
    if first_pending < RECENT_MESSAGES and not is_complete:
        return None  # the context before the first unanswered message goes further back
    pending = [
        (event_id, seq, text)
        for event_id, seq, author, text, turn in oldest_first[first_pending:]
        if author == Event.Author.VISITOR and turn is None
    ]
    recent = tuple(
        (author, text)
        for _, _, author, text, _ in oldest_first[
            max(0, first_pending - RECENT_MESSAGES) : first_pending
        ]
    )
    return pending, recent


async def _answer_one(
    conversation_id: uuid.UUID,
    state: dict,
    visitor_event_id: int,
    seq: int,
    text: str,
    understanding: dict | None,
    output: ConversationOutput,
    knowledge: KnowledgeGraph,
    recent: tuple[tuple[str, str], ...],
) -> _Answered:
    started = time.perf_counter()
    try:
        # The language model's call, inside run_turn or the stream, is this span's child.
        with tracing.tracer.start_as_current_span("chat.engine"):
            result = await sync_to_async(engine.run_turn, thread_sensitive=False)(
                state, text, understanding, knowledge, configured_turn(), recent
            )
            streamed = await _stream_replies(seq, result.replies, output)
    except Exception:
        # Never silence: a broken turn still answers, and keeps the previous state.
        logger.exception("The engine failed on message #%s of %s", seq, conversation_id)
        result = engine.TurnResult(state=state, trace={"decision": "engine_failure"})
        streamed = await _stream_replies(seq, [engine.Reply([ENGINE_FAILURE_REPLY])], output)
    record = {
        "state_diff": result.diff,
        "understanding": understanding or {},
        "trace": result.trace,
    }
    answered = time.perf_counter()
    with tracing.tracer.start_as_current_span("chat.store"):
        replies = [reply for _, reply in streamed]
        events = await database_call(actions.complete_turn)(
            conversation_id, visitor_event_id, replies, result.state, record
        )
    stored = time.perf_counter()
    metrics.MESSAGES.labels("bot").inc(len(events))
    await output.publish_all(
        [
            *(
                {"type": "stream_end", "stream_id": stream_id, "event": event.as_frame()}
                for (stream_id, _), event in zip(streamed, events, strict=True)
            ),
            {"type": "typing", "author": "bot", "is_typing": False},
        ]
    )
    owner = Conversation.Owner.BOT
    if result.trace.get("handoff"):
        handoff = await database_call(handoff_actions.request_handoff)(
            conversation_id, result.trace["handoff"], result.trace.get("intent")
        )
        if handoff.status == handoff.Status.WAITING:
            owner = Conversation.Owner.WAITING
    return _Answered(result.state, owner, result.trace, answered - started, stored - answered)


async def _stream_replies(
    seq: int, replies: list[engine.Reply], output: ConversationOutput
) -> list[tuple[str, tuple[str, dict]]]:
    """Stream each reply's chunks; return (stream id, (whole text, data)) per non-empty reply."""
    streamed = []
    for index, reply in enumerate(replies):
        stream_id = f"s-{seq}-{index}"
        await output.publish({"type": "stream_start", "stream_id": stream_id, "author": "bot"})
        parts = []
        async for chunk in iterate_in_thread(reply.chunks):
            if isinstance(chunk, Replace):
                # The model's words could not stand (it failed, or stated an unsupported
                # number): the grounded answer replaces them on every screen.
                parts = [chunk.text]
                await output.publish(
                    {"type": "stream_replace", "stream_id": stream_id, "text": chunk.text}
                )
            elif chunk:
                parts.append(chunk)
                await output.publish(
                    {"type": "stream_delta", "stream_id": stream_id, "text": chunk}
                )
        text = "".join(parts).strip()
        if text:
            streamed.append((stream_id, (text, _reply_data(reply))))
    return streamed


def _reply_data(reply: engine.Reply) -> dict:
    data = {"sources": reply.sources} if reply.sources else {}
    if reply.quick_replies:
        data["quick_replies"] = reply.quick_replies
    if reply.outcome is not None:
        data["answered_by"] = reply.outcome.answered_by
        if reply.outcome.fallback_reason:
            data["fallback_reason"] = reply.outcome.fallback_reason
    return data


async def iterate_in_thread(chunks: Iterable[str]) -> AsyncIterator[str]:
    """Yield from a blocking iterable (a model's token stream) without blocking the loop."""
    if isinstance(chunks, list | tuple | str):
        for chunk in [chunks] if isinstance(chunks, str) else chunks:
            yield chunk
        return
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue = asyncio.Queue()
    finished = object()

    def produce() -> None:
        try:
            for chunk in chunks:
                loop.call_soon_threadsafe(queue.put_nowait, chunk)
        except BaseException as error:  # handed to the consumer of the stream
            loop.call_soon_threadsafe(queue.put_nowait, error)
        finally:
            loop.call_soon_threadsafe(queue.put_nowait, finished)

    # The stream runs in the caller's context: a model call's span joins the turn's trace.
    turn_context = contextvars.copy_context()
    threading.Thread(
        target=turn_context.run, args=(produce,), daemon=True, name="reply-stream"
    ).start()
    while (item := await queue.get()) is not finished:
        if isinstance(item, BaseException):
            raise item
        yield item
