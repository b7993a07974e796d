"""Erasing a conversation in progress: the visitor's socket closes, the agent's console drops it
and goes on working."""

import pytest
from channels.db import database_sync_to_async

from chatbot.models import Visitor
from chatbot.privacy import actions
from tests.chatbot.socket_client import WidgetClient
from tests.handoff.conftest import new_agent
from tests.handoff.test_consoles import agent_console, visitor_frames_until

pytestmark = [pytest.mark.websocket, pytest.mark.django_db(transaction=True)]


@database_sync_to_async
def erase(conversation_id: str) -> dict:
    visitor = Visitor.objects.get(conversations__pk=conversation_id)
    return actions.erase_subject(visitor)


async def test_an_erased_conversation_closes_the_visitors_socket_and_leaves_the_agents_console():
    anna = await database_sync_to_async(new_agent)("anna")
    console = await agent_console(anna.user)
    visitor = WidgetClient()
    assert await visitor.connect()
    await visitor.hello()
    await visitor.say("I want to talk to a human please")
    offer = (await console.receive_until("offer"))[-1]
    await console.send({"type": "accept", "handoff_id": offer["handoff_id"]})
    await console.receive_until("assigned")
    await visitor_frames_until(visitor, lambda f: f["type"] == "handoff" and f["status"] == "agent")

    counts = await erase(visitor.conversation_id)

    assert counts["conversations"] == 1
    erased = await visitor_frames_until(visitor, lambda f: f["type"] == "erased")
    assert erased[-1] == actions.ERASED_FRAME
    closed = await visitor.receive_output()
    assert (closed["type"], closed["code"]) == ("websocket.close", 4401)
    released = (await console.receive_until("released"))[-1]
    assert released == {"type": "released", "handoff_id": offer["handoff_id"], "why": "erased"}
    # The console goes on: a message to the erased conversation is refused, and it answers pings.
    await console.send(
        {"type": "message", "handoff_id": offer["handoff_id"], "client_id": "a-1", "text": "hi"}
    )
    refused = (await console.receive_until("error"))[-1]
    assert refused["handoff_id"] == offer["handoff_id"]
    await console.send({"type": "ping"})
    await console.receive_until("pong")
    await console.close()
