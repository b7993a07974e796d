"""The websocket turn awaits the classifier without blocking, retries, and says when busy."""

import time
import weakref

import pytest
from channels.db import database_sync_to_async

from chatbot import engine
from chatbot.models import Turn
from chatbot.nlu import client, tasks, understanding
from tests.chatbot.socket_client import WidgetClient, events_in

pytestmark = [pytest.mark.websocket, pytest.mark.django_db(transaction=True)]


async def ask(text: str) -> tuple[dict, dict]:
    client = WidgetClient()
    assert await client.connect()
    await client.hello()
    await client.say(text)
    reply = events_in(await client.receive_answer())[-1]
    await client.close()
    state = await database_sync_to_async(lambda: Turn.objects.get().state)()
    return reply, state


async def test_the_bot_says_which_intent_it_understood(tiny_model):
    reply, state = await ask("what exchange rate do you use")

    assert reply["text"] == engine.UNDERSTOOD.format(topic="exchange rate")
    assert state["active_intent"] == "exchange_rate"


async def test_a_classifier_that_never_answers_gets_the_busy_reply_not_a_guess(
    settings, monkeypatch
):
    settings.NLU_TIMEOUT_SECONDS = 0.2

    def stuck_classifier(*args, **kwargs):
        time.sleep(1)

    # Silent workers (with Redis), or a classifier stuck in the web process (embedded).
    monkeypatch.setattr(tasks.classify_messages, "apply_async", lambda *args, **kwargs: None)
    monkeypatch.setattr(understanding, "understand_texts", stuck_classifier)

    reply, state = await ask("where is my card?")

    assert reply["text"] == engine.BUSY
    # The service failed, not the visitor: nothing counts towards handing them over.
    assert state["fallback_streak"] == 0


async def test_a_lost_request_is_sent_again_and_its_answer_taken(settings, monkeypatch):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.NLU_TIMEOUT_SECONDS = 0.1
    settings.NLU_ATTEMPTS = 3
    pending = client.PendingClassifications("socket-1")
    sent = []

    async def lose_the_first(batch):
        sent.append([request.request_id for request in batch])
        if len(sent) == 2:
            for request in batch:
                pending.resolve(request.request_id, {"status": "ok", "intent": "card_arrival"})

    monkeypatch.setattr(client, "_send_to_workers", lose_the_first)
    monkeypatch.setattr(client, "_batchers", weakref.WeakKeyDictionary())

    result = await pending.classify(7, "where is my card?")

    assert result == {"status": "ok", "intent": "card_arrival"}
    # The same request twice: whichever copy a worker answers first resolves it.
    assert len(sent) == 2 and sent[0] == sent[1]
    assert pending.futures == {}
