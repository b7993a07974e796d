"""Presence over the real sockets: an agent who leaves stops taking conversations at once.

These run on the embedded default and again on PostgreSQL, Redis and a real Celery worker (the
presence check then runs on the worker).
"""

import pytest
from channels.db import database_sync_to_async

from handoff import models
from handoff.models import Agent, Handoff
from tests.chatbot.socket_client import WidgetClient
from tests.handoff.conftest import new_agent
from tests.handoff.console_client import ConsoleClient, session_cookie

pytestmark = [pytest.mark.websocket, pytest.mark.django_db(transaction=True)]


async def agent_console(agent: Agent) -> tuple[ConsoleClient, dict]:
    cookie = await database_sync_to_async(session_cookie)(agent.user)
    console = ConsoleClient(cookie)
    connected, _ = await console.connect()
    assert connected
    frames = await console.receive_until("queue")
    return console, next(frame for frame in frames if frame["type"] == "hello")


async def waiting_visitor() -> WidgetClient:
    visitor = WidgetClient()
    assert await visitor.connect()
    await visitor.hello()
    await visitor.send({"type": "handoff_request"})
    await visitor.receive_until("handoff", status="waiting")
    return visitor


def agent_is_online(agent: Agent) -> bool:
    return Agent.objects.get(pk=agent.pk).is_online


async def test_the_waiting_frame_reaches_the_visitor_once_after_asking_for_a_person():
    await database_sync_to_async(new_agent)("anna")
    visitor = WidgetClient()
    assert await visitor.connect()
    await visitor.hello()

    await visitor.send({"type": "handoff_request"})
    await visitor.receive_until("handoff", status="waiting")

    assert await visitor.receive_nothing(), "the waiting frame came a second time"
    await visitor.close()


async def test_when_the_only_agent_closes_the_console_the_waiting_visitor_is_told_nobody_is_left(
    settings,
):
    settings.HANDOFF_RECONNECT_GRACE_SECONDS = 0
    anna = await database_sync_to_async(new_agent)("anna")
    console, hello = await agent_console(anna)
    visitor = await waiting_visitor()
    offer = (await console.receive_until("offer"))[-1]

    await console.close()
    frames = await visitor.receive_until("handoff", status="unavailable")

    assert hello["agent"]["online"] is True
    assert frames[-1] == {
        "type": "handoff",
        "status": "unavailable",
        "why": "no_agent_online",
        "can_leave_message": True,
    }
    handoff = await database_sync_to_async(Handoff.objects.get)(pk=offer["handoff_id"])
    assert (handoff.status, handoff.offered_to_id) == ("unavailable", None)
    assert not await database_sync_to_async(agent_is_online)(anna)
    assert not await database_sync_to_async(
        models.AgentConnection.objects.filter(agent=anna).exists
    )()
    await visitor.close()


async def test_when_the_only_agent_goes_away_the_waiting_visitor_is_told_nobody_is_left():
    anna = await database_sync_to_async(new_agent)("anna")
    console, _ = await agent_console(anna)
    visitor = await waiting_visitor()
    await console.receive_until("offer")

    await console.send({"type": "availability", "online": False})
    frames = await visitor.receive_until("handoff", status="unavailable")
    released = (await console.receive_until("released"))[-1]

    assert frames[-1]["why"] == "no_agent_online"
    assert released["why"] == "agent_away"
    assert await database_sync_to_async(Handoff.objects.filter(status="waiting").count)() == 0
    await console.close()
    await visitor.close()


async def test_the_console_is_told_its_heartbeat_and_each_ping_keeps_its_connection_alive():
    anna = await database_sync_to_async(new_agent)("anna")
    console, hello = await agent_console(anna)
    opened = await database_sync_to_async(models.AgentConnection.objects.get)(agent=anna)

    await console.send({"type": "ping"})
    pong = await console.receive()

    heard = await database_sync_to_async(models.AgentConnection.objects.get)(agent=anna)
    assert pong == {"type": "pong"}
    assert hello["heartbeat_seconds"] == 20
    assert heard.live_until > opened.live_until
    await console.close()


async def test_a_reloaded_console_finds_the_agent_still_online_with_their_conversation(settings):
    settings.HANDOFF_RECONNECT_GRACE_SECONDS = 300
    anna = await database_sync_to_async(new_agent)("anna")
    console, _ = await agent_console(anna)
    visitor = await waiting_visitor()
    offer = (await console.receive_until("offer"))[-1]
    await console.send({"type": "accept", "handoff_id": offer["handoff_id"]})
    await console.receive_until("assigned")
    await visitor.receive_until("handoff", status="agent")

    await console.close()
    reloaded, hello = await agent_console(anna)

    assert hello["agent"]["online"] is True
    handoff = await database_sync_to_async(Handoff.objects.get)(pk=offer["handoff_id"])
    assert (handoff.status, handoff.assigned_to_id) == ("assigned", anna.pk)
    assert await visitor.receive_nothing()
    await reloaded.close()
    await visitor.close()
