"""Load is never a wrong answer: past its thresholds the server refuses with `busy`, before
storing anything, and every message it accepted gets its real answer."""

import asyncio

import pytest
from channels.db import database_sync_to_async

from chatbot import consumers, engine, turns
from chatbot.models import Event
from tests.chatbot.socket_client import WidgetClient, events_in

pytestmark = [pytest.mark.websocket, pytest.mark.django_db(transaction=True)]

NOT_ANSWERS = (engine.NOT_CAUGHT, engine.BUSY, turns.ENGINE_FAILURE_REPLY)


@pytest.fixture
def held_turns(monkeypatch):
    """Hold every turn until the test opens the gate, as a saturated server would."""
    gate = asyncio.Event()
    answer = consumers.answer_unanswered_messages

    async def held(*args, **kwargs):
        await gate.wait()
        return await answer(*args, **kwargs)

    monkeypatch.setattr(consumers, "answer_unanswered_messages", held)
    return gate


async def visitor() -> WidgetClient:
    client = WidgetClient()
    assert await client.connect()
    await client.hello()
    return client


async def send_and_read_verdict(client: WidgetClient, text: str, client_id: str) -> dict:
    """Send a message; return its ack or the error refusing it."""
    await client.send({"type": "message", "client_id": client_id, "text": text})
    while True:
        frame = await client.receive()
        if frame["type"] in ("ack", "error") and frame.get("client_id") == client_id:
            return frame


async def resend_until_accepted(client: WidgetClient, text: str, client_id: str) -> dict:
    """Send again after each refusal, as the widget does (without waiting the whole retry)."""
    for _ in range(100):
        verdict = await send_and_read_verdict(client, text, client_id)
        if verdict["type"] == "ack":
            return verdict
        assert verdict["code"] == "busy"
        await asyncio.sleep(0.05)
    raise AssertionError(f"{client_id} was refused every time")


async def answer_text(client: WidgetClient) -> str:
    return events_in(await client.receive_answer())[0]["text"]


@database_sync_to_async
def stored_visitor_messages(conversation_id: str) -> list[str]:
    return list(
        Event.objects.filter(
            conversation_id=conversation_id, author=Event.Author.VISITOR, kind=Event.MESSAGE
        ).values_list("text", flat=True)
    )


async def test_past_the_threshold_a_message_is_refused_unstored_then_answered_when_resent(
    settings, tiny_model, held_turns
):
    settings.CHAT_BUSY_TURNS = 1
    first, second = await visitor(), await visitor()

    accepted = await send_and_read_verdict(first, "I lost my card", "first-1")
    refused = await send_and_read_verdict(second, "what exchange rate do you use", "second-1")

    assert accepted["type"] == "ack"
    assert refused["type"] == "error" and refused["code"] == "busy"
    assert refused["retry_after"] >= settings.CHAT_BUSY_RETRY_SECONDS
    assert await stored_visitor_messages(second.conversation_id) == []

    held_turns.set()
    assert await answer_text(first) not in NOT_ANSWERS
    resent = await resend_until_accepted(second, "what exchange rate do you use", "second-1")
    assert not resent["duplicate"]
    assert await answer_text(second) not in NOT_ANSWERS
    await first.close()
    await second.close()


async def test_at_saturation_every_message_is_answered_for_real_or_refused_as_busy(
    settings, tiny_model, held_turns
):
    settings.CHAT_BUSY_TURNS = 3
    texts = ["I lost my card", "my top up failed", "when will my card be delivered"] * 3
    clients = [await visitor() for _ in texts]

    verdicts = await asyncio.gather(
        *(
            send_and_read_verdict(client, text, f"c-{index}")
            for index, (client, text) in enumerate(zip(clients, texts, strict=True))
        )
    )
    held_turns.set()

    accepted = [client for client, v in zip(clients, verdicts, strict=True) if v["type"] == "ack"]
    refused = [v for v in verdicts if v["type"] == "error"]
    assert len(accepted) == 3
    assert {v["code"] for v in refused} == {"busy"} and len(refused) == len(texts) - 3
    for client in accepted:
        assert await answer_text(client) not in NOT_ANSWERS
    # The refused ones come back and are answered for real too.
    for index, (client, verdict) in enumerate(zip(clients, verdicts, strict=True)):
        if verdict["type"] == "error":
            await resend_until_accepted(client, texts[index], f"c-{index}")
            assert await answer_text(client) not in NOT_ANSWERS
    for client in clients:
        await client.close()


async def test_a_socket_beyond_capacity_is_refused_before_it_says_hello(settings):
    settings.CHAT_MAX_CONNECTIONS = 1
    first = await visitor()

    refused = WidgetClient()
    assert await refused.connect()
    frame = await refused.receive()
    closing = await refused.receive_output()

    assert frame["type"] == "error" and frame["code"] == "busy" and "client_id" not in frame
    assert frame["retry_after"] > 0
    assert (closing["type"], closing["code"]) == ("websocket.close", consumers.CLOSE_BUSY)

    # Capacity freed: the next socket is admitted.
    await first.close()
    later = await visitor()
    assert later.conversation_id
    await later.close()


async def test_a_socket_is_refused_while_twice_the_classification_threshold_waits(
    settings, monkeypatch
):
    settings.NLU_BUSY_QUEUE_DEPTH = 5
    backlog = 9
    monkeypatch.setattr("chatbot.admission.classification_backlog", lambda: backlog)
    admitted = await visitor()  # 9 waiting: messages are refused, sockets still admitted

    refused = await send_and_read_verdict(admitted, "I lost my card", "c-1")
    backlog = 10
    turned_away = WidgetClient()
    assert await turned_away.connect()
    frame = await turned_away.receive()

    assert refused["code"] == "busy"
    assert frame["code"] == "busy" and "client_id" not in frame
    assert (await turned_away.receive_output())["code"] == consumers.CLOSE_BUSY
    await admitted.close()
