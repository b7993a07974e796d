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


@pytest.fixture
def engine_inputs(monkeypatch):
    """Record the text and the recent messages each turn hands the engine."""
    seen: list[tuple[str, tuple[tuple[str, str], ...]]] = []
    real_run_turn = engine.run_turn

    def run_turn(state, text, understanding, knowledge, turn_configuration, recent):
        seen.append((text, recent))
        return real_run_turn(state, text, understanding, knowledge, turn_configuration, recent)

    monkeypatch.setattr(engine, "run_turn", run_turn)
    return seen


@database_sync_to_async
def record_messages(conversation: Conversation, texts: list[str], prefix: str) -> None:
    for index, text in enumerate(texts):
        actions.record_visitor_message(conversation.pk, f"{prefix}-{index}", text)


@database_sync_to_async
def messages_before(conversation: Conversation, text: str) -> tuple[tuple[str, str], ...]:
    """The eight messages before the visitor's `text`, read the plain way."""
    seq = Event.objects.get(conversation=conversation, author="visitor", text=text).seq
    before = Event.objects.filter(conversation=conversation, kind="message", seq__lt=seq)
    return tuple(reversed([(e.author, e.text) for e in before.order_by("-seq")[:8]]))


@pytest.mark.parametrize(
    ("answered_first", "waiting"),
    [
        (0, 1),  # a new conversation
        (3, 2),  # everything in the newest messages a turn reads at once
        (12, 1),  # a long conversation: its start lies beyond them
        (12, 6),  # several waiting: the context before the first is cut off
        (2, 20),  # more waiting than a turn reads at once
    ],
)
async def test_every_waiting_message_is_answered_in_order_with_the_messages_before_it(
    engine_inputs, answered_first, waiting
):
    conversation = await conversation_with_messages()
    for index in range(answered_first):
        await record_messages(conversation, [f"earlier question {index}"], f"early-{index}")
        assert await answer_unanswered_messages(conversation.pk, CollectingOutput()) == 1
    engine_inputs.clear()
    texts = [f"waiting question {index}" for index in range(waiting)]
    await record_messages(conversation, texts, "late")

    assert await answer_unanswered_messages(conversation.pk, CollectingOutput()) == waiting

    assert [text for text, _ in engine_inputs] == texts
    for text, recent in engine_inputs:
        assert recent == await messages_before(conversation, text)
    unanswered = await database_sync_to_async(
        lambda: Conversation.objects.get(pk=conversation.pk).unanswered_messages().count()
    )()
    assert unanswered == 0


async def test_a_waiting_message_behind_many_newer_messages_of_others_is_still_answered(
    engine_inputs,
):
    conversation = await conversation_with_messages("an earlier question")
    await answer_unanswered_messages(conversation.pk, CollectingOutput())
    await record_messages(conversation, ["the waiting question"], "late")

    @database_sync_to_async
    def agent_writes(count: int) -> None:
        for index in range(count):
            actions.append_event(conversation.pk, kind="message", author="agent", text=f"n{index}")

    await agent_writes(20)  # more than a turn reads in one query
    engine_inputs.clear()

    assert await answer_unanswered_messages(conversation.pk, CollectingOutput()) == 1
    assert engine_inputs == [
        ("the waiting question", await messages_before(conversation, "the waiting question"))
    ]
