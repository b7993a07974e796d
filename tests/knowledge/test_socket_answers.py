"""Over the widget's websocket, the bot answers from the graph, and an edit changes the answer."""

import pytest
from channels.db import database_sync_to_async

from knowledge import actions
from knowledge.models import Node
from tests.chatbot.socket_client import WidgetClient, events_in

pytestmark = [pytest.mark.websocket, pytest.mark.django_db(transaction=True)]


async def ask(text: str) -> dict:
    client = WidgetClient()
    assert await client.connect()
    await client.hello()
    await client.say(text)
    reply = events_in(await client.receive_answer())[-1]
    await client.close()
    return reply


@database_sync_to_async
def edit_answer(key: str, answer: str, editor) -> None:
    node = Node.objects.get(key=key)
    actions.update_node(key, {"answers": [answer]}, node.version, editor)


async def test_the_answer_comes_from_the_topic_and_cites_its_nodes(stored_bank, tiny_model):
    reply = await ask("when will my card be delivered")

    assert reply["text"] == (
        "Cards arrive within 5 working days, or 2 with express delivery for 4.99 GBP."
    )
    assert reply["data"]["sources"] == [
        {"key": "topic:card_arrival", "label": "Card arrival"},
        {"key": "process:card_delivery", "label": "Card delivery"},
        {"key": "fee:express_delivery", "label": "Express delivery fee"},
    ]


async def test_an_editors_change_is_what_the_bot_says_next(stored_bank, tiny_model, editor):
    await ask("when will my card be delivered")

    await edit_answer(
        "topic:card_arrival",
        "Your card is on its way: allow {process:card_delivery.standard_days} days.",
        editor,
    )
    reply = await ask("when will my card be delivered")

    assert reply["text"] == "Your card is on its way: allow 5 days."
