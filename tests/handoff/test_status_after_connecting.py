"""Every (re)connection of the widget ends with the conversation's current handoff status."""

import pytest
from channels.db import database_sync_to_async

from handoff import actions
from tests.chatbot.socket_client import WidgetClient
from tests.handoff.conftest import new_agent

pytestmark = [pytest.mark.websocket, pytest.mark.django_db(transaction=True)]


async def test_a_new_visitor_gets_the_status_bot_right_after_synced():
    visitor = WidgetClient()
    assert await visitor.connect()
    await visitor.send({"type": "hello", "token": None, "last_seq": 0})

    frames = await visitor.receive_until("synced")
    status = await visitor.receive()

    assert [frame["type"] for frame in frames] == ["welcome", "event", "synced"]
    assert status == {"type": "handoff", "status": "bot"}
    assert await visitor.receive_nothing()
    await visitor.close()


async def test_a_visitor_reconnecting_while_the_bot_has_the_conversation_gets_the_status_bot():
    first = WidgetClient()
    assert await first.connect()
    frames = await first.hello()
    await first.close()

    again = WidgetClient()
    assert await again.connect()
    await again.send({"type": "hello", "token": first.token, "last_seq": frames[-1]["last_seq"]})
    replay = await again.receive_until("synced")
    status = await again.receive()

    assert [frame["type"] for frame in replay] == ["welcome", "synced"]
    assert status == {"type": "handoff", "status": "bot"}
    await again.close()


async def test_a_visitor_reconnecting_while_waiting_gets_their_place_in_the_queue():
    await database_sync_to_async(new_agent)("anna")
    first = WidgetClient()
    assert await first.connect()
    await first.hello()
    await database_sync_to_async(actions.request_handoff)(first.conversation_id, "requested")
    await first.close()

    again = WidgetClient()
    assert await again.connect()
    await again.send({"type": "hello", "token": first.token, "last_seq": 0})
    await again.receive_until("synced")
    status = await again.receive()

    assert (status["type"], status["status"], status["position"]) == ("handoff", "waiting", 1)
    await again.close()
