"""The project's conversation transcripts, played through the engine and through the websocket."""

import os
from pathlib import Path

import pytest
from channels.db import database_sync_to_async

from chatbot.dialogue.transcripts import Outcome, failures_of, play, read_transcripts
from chatbot.live_player import live_player
from chatbot.models import Turn
from tests.chatbot.socket_client import WidgetClient, events_in
from tests.conftest import start_celery_worker
from tests.conversations.conftest import TRANSCRIPTS
from tests.live_server import stop

CASES = read_transcripts(TRANSCRIPTS)


@pytest.mark.parametrize("transcript", CASES, ids=[Path(case.path).stem for case in CASES])
def test_the_transcript_passes_through_the_engine(demo_bank, transcript):
    result = play(transcript, live_player())

    assert [turn.failures for turn in result.turns if turn.failures] == []


@pytest.fixture
def banking_workers(settings, banking_model_var_dir):
    """With Redis, classify on a real worker serving the BANKING77 model, on a queue of its own."""
    if not settings.REDIS_URL:
        yield
        return
    settings.NLU_QUEUE = f"nlu-banking-{os.getpid()}"
    worker = start_celery_worker(banking_model_var_dir, settings.NLU_QUEUE, log_name="banking")
    try:
        yield
    finally:
        stop(worker)


class SocketPlayer:
    """Says each line in the widget's websocket and reads back what the bot did."""

    def __init__(self, client: WidgetClient) -> None:
        self.client = client

    async def say(self, text: str) -> Outcome:
        await self.client.say(text)
        frames = await self.client.receive_answer()
        replies = [event for event in events_in(frames) if event["author"] == "bot"]
        turn = await database_sync_to_async(lambda: Turn.objects.order_by("-id").first())()
        return Outcome(
            texts=[event["text"] for event in replies],
            sources=[
                s["key"] for event in replies for s in (event.get("data") or {}).get("sources", [])
            ],
            state=turn.state,
            trace=turn.trace,
        )


@pytest.mark.websocket
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("transcript", CASES, ids=[Path(case.path).stem for case in CASES])
async def test_the_transcript_passes_through_the_websocket(demo_bank, banking_workers, transcript):
    client = WidgetClient()
    assert await client.connect()
    await client.hello()
    player = SocketPlayer(client)

    failures = []
    for number, check in enumerate(transcript.turns, start=1):
        outcome = await player.say(check.visitor)
        failures += [
            f"turn {number} ({check.visitor!r} -> {outcome.text!r}, {outcome.trace}): {failure}"
            for failure in failures_of(check.expect, outcome)
        ]
    await client.close()

    assert failures == []


@pytest.mark.django_db(transaction=True)
async def test_the_state_rebuilt_from_the_log_is_the_state_saved(demo_bank):
    from chatbot.models import Conversation
    from chatbot.replay import rebuild_state

    transcript = next(case for case in CASES if "slot_correction" in case.path)
    client = WidgetClient()
    assert await client.connect()
    await client.hello()
    player = SocketPlayer(client)
    for check in transcript.turns:
        await player.say(check.visitor)
    await client.close()

    conversation = await database_sync_to_async(Conversation.objects.get)()
    rebuilt = await database_sync_to_async(rebuild_state)(conversation.pk)

    assert rebuilt == conversation.state
    assert rebuilt["finished_flows"][0]["slots"]["card"]["value"] == "3333"


def test_each_turns_state_changes_are_shown_in_the_admin(demo_bank, admin_client):
    from asgiref.sync import async_to_sync

    from chatbot.models import Conversation

    transcript = next(case for case in CASES if "slot_correction" in case.path)

    async def converse() -> None:
        client = WidgetClient()
        assert await client.connect()
        await client.hello()
        player = SocketPlayer(client)
        for check in transcript.turns[:4]:
            await player.say(check.visitor)
        await client.close()

    async_to_sync(converse)()
    conversation = Conversation.objects.get()

    page = admin_client.get(
        f"/admin/chatbot/conversation/{conversation.pk}/change/"
    ).content.decode()

    assert "flow_corrected (" in page
    assert "slots.card: None → {&#x27;value&#x27;: &#x27;1111&#x27;" in page
