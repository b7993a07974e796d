"""Answering a conversation's messages: one answerer at a time, each message answered once."""

import asyncio
import time

import pytest
from channels.db import database_sync_to_async

from chatbot import actions, engine
from chatbot.models import Conversation, Event, Turn
from chatbot.turns import answer_unanswered_messages, iterate_in_thread

pytestmark = [pytest.mark.websocket, pytest.mark.django_db(transaction=True)]


class CollectingOutput:
    """Keep every frame a turn publishes."""

    def __init__(self) -> None:
        self.frames: list[dict] = []

    async def publish(self, frame: dict) -> None:
        self.frames.append(frame)

    async def publish_all(self, frames: list[dict]) -> None:
        self.frames.extend(frames)


@database_sync_to_async
def conversation_with_messages(*texts: str) -> Conversation:
    visitor = actions.create_visitor()
    conversation = actions.open_conversation(visitor.pk)
    for index, text in enumerate(texts):
        actions.record_visitor_message(conversation.pk, f"c-{index}", text)
    return conversation


@pytest.fixture
def slow_engine(monkeypatch):
    """Make each turn take a while, so concurrent answerers would overlap."""
    real_run_turn = engine.run_turn

    def run_turn(state: dict, text: str, *args) -> engine.TurnResult:
        time.sleep(0.05)
        return real_run_turn(state, text, *args)

    monkeypatch.setattr(engine, "run_turn", run_turn)


async def test_two_answerers_at_once_answer_each_message_exactly_once(slow_engine):
    conversation = await conversation_with_messages("one", "two", "three")
    outputs = [CollectingOutput(), CollectingOutput()]

    answered = await asyncio.gather(
        *(answer_unanswered_messages(conversation.pk, output) for output in outputs)
    )

    assert sorted(answered) == [0, 3]
    streams = [f for output in outputs for f in output.frames if f["type"] == "stream_start"]
    assert [f["stream_id"] for f in streams] == ["s-2-0", "s-3-0", "s-4-0"]
    turns = await database_sync_to_async(
        lambda: [t.state["turn_count"] for t in Turn.objects.order_by("visitor_event__seq")]
    )()
    assert turns == [1, 2, 3]


async def test_replies_are_committed_after_their_message_and_in_order():
    conversation = await conversation_with_messages("first", "second")
    output = CollectingOutput()

    await answer_unanswered_messages(conversation.pk, output)

    log = await database_sync_to_async(
        lambda: list(
            Event.objects.filter(conversation=conversation).values_list("seq", "author", "text")
        )
    )()
    assert [(seq, author) for seq, author, _ in log] == [
        (1, "system"),
        (2, "visitor"),
        (3, "visitor"),
        (4, "bot"),
        (5, "bot"),
    ]
    assert [log[3][2], log[4][2]] == [engine.GREETING, engine.ACKNOWLEDGEMENT]
    ends = [f["event"]["seq"] for f in output.frames if f["type"] == "stream_end"]
    assert ends == [4, 5]


async def test_nothing_to_answer_publishes_nothing():
    conversation = await conversation_with_messages()
    output = CollectingOutput()

    assert await answer_unanswered_messages(conversation.pk, output) == 0
    assert output.frames == []


async def test_a_blocking_token_stream_is_relayed_in_order_and_its_error_raised():
    def tokens():
        yield "Your "
        time.sleep(0.01)
        yield "card "
        raise ConnectionError("model server went away")

    received = []
    with pytest.raises(ConnectionError, match="went away"):
        async for chunk in iterate_in_thread(tokens()):
            received.append(chunk)

    assert received == ["Your ", "card "]
