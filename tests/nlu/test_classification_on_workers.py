"""Classification on a real Celery worker over Redis, awaited the way the consumer awaits it."""

import asyncio
import os
import signal
import tempfile
import time
import uuid
from pathlib import Path

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer

from chatbot import actions
from chatbot.nlu.models import MessageClassification
from chatbot.nlu.tasks import classify_messages
from tests.conftest import start_celery_worker
from tests.live_server import stop

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


@database_sync_to_async
def stored_message(text: str) -> int:
    conversation = actions.open_conversation(actions.create_visitor().pk)
    return actions.record_visitor_message(conversation.pk, "c-1", text)[0].pk


async def classify_on_worker(event_id: int, text: str, queue: str, timeout: float) -> dict:
    """Send the task and wait for the result on a channel of our own."""
    channel_layer = get_channel_layer()
    reply_channel = await channel_layer.new_channel()
    request = {
        "event_id": event_id,
        "text": text,
        "reply_channel": reply_channel,
        "request_id": uuid.uuid4().hex,
    }
    await database_sync_to_async(classify_messages.apply_async)(args=[[request]], queue=queue)
    message = await asyncio.wait_for(channel_layer.receive(reply_channel), timeout)
    assert message["request_id"] == request["request_id"]
    return message["result"]


async def stored_verdicts(event_id: int) -> int:
    """Wait for the worker to record its verdict (after answering); return how many there are."""
    count = MessageClassification.objects.filter(event_id=event_id).count
    deadline = time.monotonic() + 10
    while not await database_sync_to_async(count)() and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    return await database_sync_to_async(count)()


async def test_a_real_worker_classifies_a_stored_message(requires_services, celery_worker):
    text = "somebody stole my card"
    event_id = await stored_message(text)

    result = await classify_on_worker(event_id, text, "nlu", timeout=30)

    assert (result["status"], result["intent"]) == ("ok", "lost_or_stolen_card")
    assert await stored_verdicts(event_id) == 1


async def test_a_worker_killed_mid_task_still_classifies_the_message_once(
    requires_services, tiny_model_var_dir
):
    marker = Path(tempfile.mkdtemp(prefix="chatbot-stall-")) / "stalled-pid"
    os.environ["STALL_MARKER"] = str(marker)
    worker = start_celery_worker(
        tiny_model_var_dir, "nlu-stall", app="tests.nlu.stalling_worker", log_name="stalling"
    )
    try:
        text = "my card still hasn't arrived"
        event_id = await stored_message(text)
        waiting = asyncio.create_task(classify_on_worker(event_id, text, "nlu-stall", timeout=60))
        deadline = time.monotonic() + 30
        while not marker.exists() and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        os.kill(int(marker.read_text()), signal.SIGKILL)

        try:
            result = await waiting
        except TimeoutError:
            pytest.fail(f"no result after the kill; worker log:\n{worker.log_path.read_text()}")
    finally:
        os.environ.pop("STALL_MARKER", None)
        stop(worker)

    assert (result["status"], result["intent"]) == ("ok", "card_arrival")
    assert "WorkerLostError" in worker.log_path.read_text()
    assert await stored_verdicts(event_id) == 1
