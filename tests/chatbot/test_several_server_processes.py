"""Two uvicorn processes share one conversation through PostgreSQL and Redis."""

import asyncio
import json
import tempfile
import time
import uuid
from pathlib import Path

import pytest
from channels.db import database_sync_to_async
from django.conf import settings
from websockets.asyncio.client import connect

from chatbot.models import Conversation, Event, Turn
from tests.live_server import (
    child_process_database_url,
    free_port,
    running_server,
    server_environment,
)

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

MESSAGES_PER_TAB = 5


@pytest.fixture
def two_servers(requires_services):
    """Serve the test database from two processes; yield their websocket URLs and origin."""
    ports = [free_port(), free_port()]
    origin = f"http://127.0.0.1:{ports[0]}"
    with tempfile.TemporaryDirectory(prefix="chatbot-two-servers-") as temporary:
        environment = server_environment(
            child_process_database_url(), origin, Path(temporary), redis_url=settings.REDIS_URL
        )
        environment["REDIS_KEY_PREFIX"] = settings.REDIS_KEY_PREFIX
        # The test's made-up messages may look unclear, or like a task that keeps failing, to
        # the bot; escalating them is not what this test is about.
        environment["HANDOFF_TRIGGERS"] = "requested"
        with (
            running_server(environment, ports[0]) as first,
            running_server(environment, ports[1]) as second,
        ):
            yield [url.replace("http", "ws") + "/ws/chat/" for url in (first, second)], origin


async def _collect_events(socket, seen: dict[int, dict], expected_last_seq: int) -> None:
    """Record every stored event the socket receives until the conversation reaches a seq."""
    while max(seen, default=0) < expected_last_seq:
        frame = json.loads(await asyncio.wait_for(socket.recv(), timeout=30))
        event = frame.get("event") if frame["type"] == "stream_end" else frame
        if event.get("type") == "event":
            assert event["seq"] not in seen, f"seq {event['seq']} delivered twice"
            seen[event["seq"]] = event


@database_sync_to_async
def _turn_counts(conversation_id: str) -> list[int]:
    turns = Turn.objects.filter(conversation_id=conversation_id).order_by("visitor_event__seq")
    return [turn.state["turn_count"] for turn in turns]


async def _last_seq_once_answered(conversation_id: str, messages: int) -> int:
    """Wait until every visitor message has its turn; return the conversation's last seq."""

    def answered() -> tuple[int, int]:
        # Count first: a last_seq read before the count could miss the replies of a turn that
        # commits between the two reads.
        turns = Turn.objects.filter(conversation_id=conversation_id).count()
        return turns, Conversation.objects.values_list("last_seq", flat=True).get(
            pk=conversation_id
        )

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        turns, last_seq = await database_sync_to_async(answered)()
        if turns == messages:
            return last_seq
        await asyncio.sleep(0.1)
    pytest.fail(f"only {turns} of {messages} messages were answered within 60 s")


async def test_two_processes_keep_one_conversation_in_order_with_one_answer_per_message(
    two_servers,
):
    (first_url, second_url), origin = two_servers
    async with connect(first_url, origin=origin) as first_tab:
        await first_tab.send(json.dumps({"type": "hello", "token": None, "last_seq": 0}))
        welcome = json.loads(await first_tab.recv())
        await first_tab.recv(), await first_tab.recv()  # conversation_started, synced
        async with connect(second_url, origin=origin) as second_tab:
            await second_tab.send(
                json.dumps({"type": "hello", "token": welcome["token"], "last_seq": 1})
            )
            assert (
                json.loads(await second_tab.recv())["conversation_id"] == welcome["conversation_id"]
            )
            assert json.loads(await second_tab.recv())["type"] == "synced"

            # Both processes receive messages at once; each must be answered once, in order.
            for i in range(MESSAGES_PER_TAB):
                for name, tab in (("one", first_tab), ("two", second_tab)):
                    frame = {
                        "type": "message",
                        "client_id": f"{name}-{i}",
                        "text": f"tab {name} #{i}",
                    }
                    await tab.send(json.dumps(frame))
            # A turn may say more than one thing (a side question inside a task is answered,
            # then the task's question asked again), so the end is known once every message
            # has its turn.
            last_seq = await _last_seq_once_answered(
                welcome["conversation_id"], 2 * MESSAGES_PER_TAB
            )
            seen_first: dict[int, dict] = {}
            seen_second: dict[int, dict] = {}
            await asyncio.gather(
                _collect_events(first_tab, seen_first, last_seq),
                _collect_events(second_tab, seen_second, last_seq),
            )

    stored = await database_sync_to_async(
        lambda: list(
            Event.objects.filter(conversation_id=welcome["conversation_id"]).order_by("seq")
        )
    )()
    assert [event.seq for event in stored] == list(range(1, last_seq + 1))
    assert sorted(seen_first) == sorted(seen_second) == list(range(2, last_seq + 1))
    assert sum(event.author == "visitor" for event in stored) == 2 * MESSAGES_PER_TAB
    assert all(event.author in ("visitor", "bot") for event in stored[1:])
    # Serialised turns: each one saw the state the previous one left, across both processes.
    assert await _turn_counts(welcome["conversation_id"]) == list(
        range(1, 2 * MESSAGES_PER_TAB + 1)
    )


async def test_a_message_resent_to_the_other_process_is_stored_once(two_servers):
    (first_url, second_url), origin = two_servers
    client_id = str(uuid.uuid4())
    async with connect(first_url, origin=origin) as first_tab:
        await first_tab.send(json.dumps({"type": "hello", "token": None, "last_seq": 0}))
        token = json.loads(await first_tab.recv())["token"]
        await first_tab.send(json.dumps({"type": "message", "client_id": client_id, "text": "hi"}))
        first_ack = await _next_of_type(first_tab, "ack")
    async with connect(second_url, origin=origin) as second_tab:
        await second_tab.send(json.dumps({"type": "hello", "token": token, "last_seq": 0}))
        await _next_of_type(second_tab, "synced")
        await second_tab.send(json.dumps({"type": "message", "client_id": client_id, "text": "hi"}))
        second_ack = await _next_of_type(second_tab, "ack")

    assert second_ack == {**first_ack, "duplicate": True}
    count = await database_sync_to_async(Event.objects.filter(client_id=client_id).count)()
    assert count == 1


async def _next_of_type(socket, frame_type: str) -> dict:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        frame = json.loads(await asyncio.wait_for(socket.recv(), timeout=30))
        if frame["type"] == frame_type:
            return frame
    raise AssertionError(f"no {frame_type} frame")
