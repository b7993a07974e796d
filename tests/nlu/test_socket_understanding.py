"""The websocket turn awaits the classifier without blocking, and falls back when it is silent."""

import time

import pytest
from channels.db import database_sync_to_async

from chatbot import engine
from chatbot.models import Turn
from chatbot.nlu import tasks, understanding
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


async def test_a_classifier_that_never_answers_gets_the_not_caught_fallback(settings, monkeypatch):
    settings.NLU_TIMEOUT_SECONDS = 0.2

    def stuck_classifier(*args, **kwargs):
        time.sleep(1)

    # Silent workers (with Redis), or a classifier stuck in the web process (embedded).
    monkeypatch.setattr(tasks.classify_messages, "apply_async", lambda *args, **kwargs: None)
    monkeypatch.setattr(understanding, "understand_texts", stuck_classifier)

    reply, state = await ask("where is my card?")

    assert reply["text"] == engine.NOT_CAUGHT
    assert state["fallback_streak"] == 1
