"""The visitor and the agent over their websockets: escalate, accept, talk both ways, hand back."""

import pytest
from channels.db import database_sync_to_async
from django.contrib.auth.models import User

from chatbot.models import Event
from tests.chatbot.socket_client import WidgetClient, events_in
from tests.handoff.conftest import new_agent
from tests.handoff.console_client import ConsoleClient, session_cookie

pytestmark = [pytest.mark.websocket, pytest.mark.django_db(transaction=True)]


async def visitor_frames_until(visitor: WidgetClient, predicate) -> list[dict]:
    frames = []
    while True:
        frame = await visitor.receive()
        frames.append(frame)
        if predicate(frame):
            return frames


async def console_frames_until(console: ConsoleClient, predicate) -> list[dict]:
    frames = []
    while True:
        frame = await console.receive()
        frames.append(frame)
        if predicate(frame):
            return frames


async def agent_console(user) -> ConsoleClient:
    cookie = await database_sync_to_async(session_cookie)(user)
    console = ConsoleClient(cookie)
    connected, _ = await console.connect()
    assert connected
    await console.receive_until("queue")
    return console


async def test_a_visitor_and_an_agent_talk_both_ways_and_the_bot_takes_back_over():
    anna = await database_sync_to_async(new_agent)("anna")
    console = await agent_console(anna.user)
    visitor = WidgetClient()
    assert await visitor.connect()
    await visitor.hello()

    await visitor.say("I want to talk to a human please")
    waiting = await visitor_frames_until(
        visitor, lambda f: f["type"] == "handoff" and f["status"] == "waiting"
    )
    offer = (await console.receive_until("offer"))[-1]

    assert waiting[-1]["position"] == 1
    assert "bring in a member of our team" in " ".join(e["text"] for e in events_in(waiting))

    await console.send({"type": "accept", "handoff_id": offer["handoff_id"]})
    packet = (await console.receive_until("assigned"))[-1]["packet"]
    joined = await visitor_frames_until(
        visitor, lambda f: f["type"] == "handoff" and f["status"] == "agent"
    )
    assert joined[-1]["agent"] == {"name": "Anna"}
    assert packet["reason"] == "requested"
    assert [e["text"] for e in packet["transcript"] if e["author"] == "visitor"] == [
        "I want to talk to a human please"
    ]

    await console.send(
        {
            "type": "message",
            "handoff_id": offer["handoff_id"],
            "client_id": "a-1",
            "text": "Hi, I'm Anna. How can I help?",
        }
    )
    from_agent = await visitor_frames_until(
        visitor, lambda f: f["type"] == "event" and f["author"] == "agent"
    )
    assert (from_agent[-1]["text"], from_agent[-1]["data"]["agent_name"]) == (
        "Hi, I'm Anna. How can I help?",
        "Anna",
    )

    await visitor.say("My card was stolen yesterday")
    await visitor_frames_until(visitor, lambda f: f["type"] == "event" and f["author"] == "visitor")
    relayed = await console_frames_until(
        console, lambda f: f["type"] == "event" and f["event"]["author"] == "visitor"
    )
    assert relayed[-1]["event"]["text"] == "My card was stolen yesterday"
    assert await visitor.receive_nothing(), (
        "the bot stays quiet while an agent has the conversation"
    )

    await console.send({"type": "hand_back", "handoff_id": offer["handoff_id"]})
    await visitor_frames_until(visitor, lambda f: f["type"] == "handoff" and f["status"] == "bot")
    await visitor.say("thanks")
    answer = await visitor.receive_answer()

    assert [e["text"] for e in events_in(answer) if e["author"] == "bot"] == [
        "You're welcome! Is there anything else I can help with?"
    ]
    authors = await database_sync_to_async(
        lambda: list(
            Event.objects.filter(kind="message").order_by("seq").values_list("author", flat=True)
        )
    )()
    assert authors == ["visitor", "bot", "agent", "visitor", "visitor", "bot"]
    await console.close()
    await visitor.close()


async def test_the_console_socket_refuses_strangers_and_non_agents():
    pat = await database_sync_to_async(User.objects.create_user)("pat", password="no rights here")
    cookie = await database_sync_to_async(session_cookie)(pat)

    anonymous = await ConsoleClient().connect()
    not_an_agent = await ConsoleClient(cookie).connect()

    assert anonymous[0] is False
    assert not_an_agent[0] is False


async def test_the_console_socket_refuses_another_sites_origin():
    anna = await database_sync_to_async(new_agent)("anna")
    cookie = await database_sync_to_async(session_cookie)(anna.user)

    connected, _ = await ConsoleClient(cookie, origin="https://evil.example").connect()

    assert not connected


async def test_an_agent_sees_only_their_skills_queue_and_cannot_act_on_others_conversations():
    from handoff.models import Skill

    await database_sync_to_async(Skill.objects.create)(
        name="payments", intents=["card_payment_not_recognised"]
    )
    carl = await database_sync_to_async(new_agent)("carl", skills=("cards",))
    await database_sync_to_async(new_agent)("paula", skills=("payments",))
    console = await agent_console(carl.user)
    visitor = WidgetClient()
    assert await visitor.connect()
    await visitor.hello()

    await visitor.send({"type": "handoff_request"})
    await visitor_frames_until(visitor, lambda f: f["type"] == "handoff")
    queue = (await console.receive_until("queue"))[-1]
    await console.send({"type": "message", "handoff_id": 999, "client_id": "x", "text": "hello?"})
    error = (await console.receive_until("error"))[-1]

    assert [item["reason"] for item in queue["items"]] == ["requested"]
    assert error["code"] == "not_yours"
    await console.close()
    await visitor.close()
