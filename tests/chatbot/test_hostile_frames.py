"""Hostile frames on both sockets get an error frame, store nothing, and the socket stays usable.

A 5,000-level array is about 10 KB, under the frame size limit; parsed naively it raised
RecursionError inside the consumer and the socket died with 1006. A message of only zero-width
characters was accepted and stored as if it said something.
"""

import pytest
from channels.db import database_sync_to_async

from chatbot.models import Event, Turn
from tests.chatbot.socket_client import WidgetClient
from tests.handoff.conftest import new_agent
from tests.handoff.console_client import ConsoleClient, session_cookie

pytestmark = [pytest.mark.websocket, pytest.mark.django_db(transaction=True)]

DEEP_ARRAY = "[" * 5000 + "]" * 5000
DEEP_INSIDE_A_FRAME = '{"type": "message", "client_id": "deep", "text": ' + DEEP_ARRAY + "}"


async def connected_visitor() -> WidgetClient:
    client = WidgetClient()
    assert await client.connect()
    await client.hello()
    return client


async def anna_at_her_console() -> ConsoleClient:
    anna = await database_sync_to_async(new_agent)("anna")
    console = ConsoleClient(await database_sync_to_async(session_cookie)(anna.user))
    connected, _ = await console.connect()
    assert connected
    await console.receive_until("queue")
    return console


INVISIBLE_TEXTS = ["\u200b\u200b", "\u200d \ufeff", "\u2060\u3164", "\u00a0\u200e"]


@pytest.mark.parametrize("raw", [DEEP_ARRAY, DEEP_INSIDE_A_FRAME], ids=["bare", "in_a_frame"])
async def test_the_widget_socket_answers_a_deep_frame_with_an_error_and_keeps_working(raw):
    client = await connected_visitor()
    events_before = await database_sync_to_async(Event.objects.count)()

    await client.send_raw(text=raw)
    error = await client.receive()
    ack = await client.say("hello again")

    assert (error["type"], error["code"]) == ("error", "invalid_frame")
    assert "levels deep" in error["message"]
    assert ack["type"] == "ack" and ack["seq"] >= 2
    assert await database_sync_to_async(Event.objects.count)() > events_before
    await client.close()


async def test_the_console_socket_answers_a_deep_frame_with_an_error_and_keeps_working():
    console = await anna_at_her_console()

    await console.communicator.send_to(text_data=DEEP_ARRAY)
    error = await console.receive()
    await console.send({"type": "ping"})
    pong = await console.receive()

    assert (error["type"], error["code"]) == ("error", "invalid_frame")
    assert pong["type"] == "pong"
    await console.close()


@pytest.mark.parametrize("text", INVISIBLE_TEXTS)
async def test_a_visitor_message_of_only_invisible_characters_is_refused_and_not_stored(text):
    client = await connected_visitor()
    events_before = await database_sync_to_async(Event.objects.count)()

    await client.send({"type": "message", "client_id": "blank", "text": text})
    error = await client.receive()

    assert (error["code"], error["field"], error["client_id"]) == ("invalid_field", "text", "blank")
    assert await client.receive_nothing()
    assert await database_sync_to_async(Event.objects.count)() == events_before
    assert await database_sync_to_async(Turn.objects.count)() == 0
    await client.close()


async def test_a_visitor_message_with_a_zero_width_joiner_inside_an_emoji_is_kept_whole():
    family = "\U0001f469\u200d\U0001f467"
    client = await connected_visitor()

    ack = await client.say(family)

    stored = await database_sync_to_async(
        lambda: Event.objects.get(conversation_id=client.conversation_id, seq=ack["seq"]).text
    )()
    assert stored == family
    await client.close()


async def test_an_agent_message_of_only_invisible_characters_is_refused():
    console = await anna_at_her_console()

    await console.send(
        {"type": "message", "handoff_id": 1, "client_id": "blank", "text": "\u200b\u200b"}
    )
    error = await console.receive()

    assert (error["type"], error["code"]) == ("error", "invalid_field")
    assert "'text'" in error["message"]
    await console.close()
