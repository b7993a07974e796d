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


FOLLOW_UPS = [
    "and in Germany?",
    "what about euros?",
    "how long does that take?",
    "is there a fee for that?",
    "and why?",
    "what about the other one?",
    "how much is it?",
    "and by bank transfer?",
]


@pytest.fixture(scope="module")
def follow_up_model_var_dir(tmp_path_factory):
    """The tiny intents and a `follow_up` intent, trained once for this module."""
    from django.test import override_settings

    from chatbot.nlu.importing import LabelledExample
    from chatbot.nlu.training import TrainingSettings, train_and_store
    from tests.tiny_model import tiny_examples

    var_dir = tmp_path_factory.mktemp("follow-up-model")
    examples = tiny_examples() + [LabelledExample(text, "follow_up") for text in FOLLOW_UPS]
    settings = TrainingSettings(mode="fast", head_steps=50, validation_fraction=0.25, threads=2)
    with override_settings(VAR_DIR=var_dir):
        train_and_store(examples, settings, show_progress=False)
    return var_dir


def test_a_follow_up_is_read_again_after_the_question_it_follows(settings, follow_up_model_var_dir):
    settings.VAR_DIR = follow_up_model_var_dir

    (result,) = understand_texts(
        ["and how long will that take?"], contexts=["my new card still hasn't arrived"]
    )

    assert result["intent"] == "follow_up"
    assert result["in_context"]["intent"] == "card_arrival"
    assert set(result["in_context"]) == {"intent", "confidence", "is_low_confidence", "ranking"}


def test_a_question_of_its_own_costs_one_reading_even_with_a_context(
    settings, follow_up_model_var_dir
):
    settings.VAR_DIR = follow_up_model_var_dir

    (result,) = understand_texts(["my top up failed"], contexts=["what exchange rate do you use"])

    assert result["intent"] == "top_up_failed"
    assert "in_context" not in result
