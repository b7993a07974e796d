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


async def send_request(event_id: int, text: str, queue: str) -> dict:
    """Send one message's classification as a task of its own, answered on a new channel."""
    request = {
        "event_id": event_id,
        "text": text,
        "reply_channel": await get_channel_layer().new_channel(),
        "request_id": uuid.uuid4().hex,
    }
    await database_sync_to_async(classify_messages.apply_async)(args=[[request]], queue=queue)
    return request


async def classify_on_worker(event_id: int, text: str, queue: str, timeout: float) -> dict:
    """Send the task and wait for the result on a channel of our own."""
    request = await send_request(event_id, text, queue)
    return await result_on(request["reply_channel"], request["request_id"], timeout)


async def result_on(reply_channel: str, request_id: str, timeout: float) -> dict:
    """Return the first result on a channel, checking that it answers the request sent there."""
    message = await asyncio.wait_for(get_channel_layer().receive(reply_channel), timeout)
    assert message["request_id"] == request_id
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


# Each message and the intent the tiny model gives it; every one is sent as a task of its own.
BATCHED_MESSAGES = {
    "my card was stolen": "lost_or_stolen_card",
    "when will my card be delivered": "card_arrival",
    "what exchange rate do you use": "exchange_rate",
    "my top up failed": "top_up_failed",
    "I lost my card": "lost_or_stolen_card",
    "has my card been posted yet": "card_arrival",
}


async def test_a_batching_worker_killed_mid_batch_answers_each_request_on_its_own_channel_once(
    requires_services, tiny_model_var_dir
):
    marker = Path(tempfile.mkdtemp(prefix="chatbot-stall-")) / "stalled-batch"
    # Unacknowledged tasks go back to the queue this long after the kill.
    batching = {
        "STALL_MARKER": str(marker),
        "NLU_WORKER_BATCH_WINDOW_MS": "1500",
        "CELERY_VISIBILITY_TIMEOUT_SECONDS": "5",
    }
    queue = "nlu-stall-batch"
    first = start_celery_worker(
        tiny_model_var_dir,
        queue,
        app="tests.nlu.stalling_batch_worker",
        log_name="batching",
        pool="threads",
        concurrency=8,
        environment=batching,
    )
    second = None
    try:
        sent = [
            (await send_request(await stored_message(text), text, queue), intent)
            for text, intent in BATCHED_MESSAGES.items()
        ]
        deadline = time.monotonic() + 30
        while not marker.exists() and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        pid, batch_size = map(int, marker.read_text().split())
        os.kill(pid, signal.SIGKILL)
        first.wait(10)
        second = start_celery_worker(
            tiny_model_var_dir,
            queue,
            log_name="after-kill",
            pool="threads",
            concurrency=8,
            environment={"CELERY_VISIBILITY_TIMEOUT_SECONDS": "5"},
        )
        results = [
            await result_on(request["reply_channel"], request["request_id"], timeout=60)
            for request, _ in sent
        ]
    finally:
        stop(first)
        if second is not None:
            stop(second)

    # The killed worker had gathered several tasks into one batch before it stalled.
    assert batch_size > 1
    assert [result["intent"] for result in results] == [intent for _, intent in sent]
    for request, _ in sent:
        assert await stored_verdicts(request["event_id"]) == 1
