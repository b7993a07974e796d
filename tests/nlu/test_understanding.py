"""Understanding messages: intents and entities; the first verdict on a message is kept."""

import pytest

from chatbot import actions
from chatbot.nlu.models import MessageClassification
from chatbot.nlu.understanding import record_verdicts, understand_texts

pytestmark = pytest.mark.django_db


def visitor_message(text: str) -> int:
    conversation = actions.open_conversation(actions.create_visitor().pk)
    event, _ = actions.record_visitor_message(conversation.pk, "c-1", text)
    return event.pk


def test_the_first_verdict_on_a_message_is_kept_and_a_redelivered_one_ignored(tiny_model):
    text = "I lost my card in Spain, it ends 4321"
    event_id = visitor_message(text)
    (first,) = understand_texts([text])
    redelivered = {**first, "model_version": "a later model"}

    record_verdicts([(event_id, first)])
    record_verdicts([(event_id, redelivered)])

    stored = MessageClassification.objects.get(event_id=event_id)
    assert first["status"] == "ok" and first["intent"] == "lost_or_stolen_card"
    assert (stored.intent, stored.model_version) == (first["intent"], first["model_version"])
    assert {(e["type"], str(e["value"])) for e in first["entities"]} >= {
        ("card_last4", "4321"),
        ("country", "ES"),
    }


def test_without_a_trained_model_the_status_says_so_and_nothing_is_stored(settings, tmp_path):
    settings.VAR_DIR = tmp_path
    event_id = visitor_message("hello")

    (result,) = understand_texts(["hello"])
    record_verdicts([(event_id, result)])

    assert result == {"status": "no_model", "entities": []}
    assert MessageClassification.objects.count() == 0


def test_texts_are_understood_in_one_batch(tiny_model):
    results = understand_texts(["my top up failed", "exchange rate for euros?"])

    assert [r["intent"] for r in results] == ["top_up_failed", "exchange_rate"]
    assert results[1]["entities"][0]["type"] == "currency"
