"""A tiny intent model, trained once per test session on the real encoder (fast mode)."""

import tempfile
from pathlib import Path

import pytest
from django.test import override_settings

from chatbot.nlu.importing import LabelledExample
from chatbot.nlu.training import TrainingSettings, train_and_store

TINY_INTENTS = {
    "card_arrival": [
        "my new card still hasn't arrived",
        "when will my card be delivered",
        "I am still waiting for my card to arrive",
        "the card you sent me never came",
        "how long does card delivery take",
        "where is my card, it has been two weeks",
        "has my card been posted yet",
        "still no card in the mail",
    ],
    "lost_or_stolen_card": [
        "I lost my card",
        "my card was stolen",
        "someone took my wallet with my card",
        "I can't find my card anywhere",
        "please block my card, it was stolen",
        "I think I left my card at the restaurant and lost it",
        "my purse was stolen with the card inside",
        "lost my debit card yesterday",
    ],
    "exchange_rate": [
        "what exchange rate do you use",
        "how much is a euro in pounds today",
        "what is the rate for converting dollars",
        "is your exchange rate good",
        "where can I see the current exchange rates",
        "what rate will I get for yen",
        "how are exchange rates calculated",
        "tell me today's rate from GBP to EUR",
    ],
    "top_up_failed": [
        "my top up failed",
        "the top-up did not go through",
        "why was my top up declined",
        "I tried to top up but it was rejected",
        "adding money to my account failed",
        "top up not working",
        "my card top up keeps failing",
        "the money I tried to add didn't arrive, top up error",
    ],
}


def tiny_examples() -> list[LabelledExample]:
    return [
        LabelledExample(text, intent) for intent, texts in TINY_INTENTS.items() for text in texts
    ]


@pytest.fixture(scope="session")
def tiny_model_var_dir() -> Path:
    """Train a fast-mode model on the tiny intents into a folder of its own; return the folder."""
    var_dir = Path(tempfile.mkdtemp(prefix="chatbot-tiny-model-"))
    settings = TrainingSettings(mode="fast", head_steps=50, validation_fraction=0.25, threads=2)
    with override_settings(VAR_DIR=var_dir):
        train_and_store(tiny_examples(), settings, show_progress=False)
    return var_dir


@pytest.fixture
def tiny_model(settings, tiny_model_var_dir: Path) -> Path:
    """Serve the tiny model in this test."""
    settings.VAR_DIR = tiny_model_var_dir
    return tiny_model_var_dir
