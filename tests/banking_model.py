"""The demo bank's intent model as the tests meet it: fast mode on BANKING77's training split and
the conversational intents, trained once per test session (about a minute and a half)."""

import tempfile
from pathlib import Path

import pytest
from django.conf import settings
from django.test import override_settings

from chatbot.nlu.importing import read_examples
from chatbot.nlu.training import TrainingSettings, train_and_store


@pytest.fixture(scope="session")
def banking_model_var_dir() -> Path:
    """Train the fast-mode demo model once; return the folder that holds it."""
    var_dir = Path(tempfile.mkdtemp(prefix="chatbot-banking-model-"))
    examples = read_examples(settings.DEMO_INTENTS_FILE)
    examples += read_examples(settings.CONVERSATION_INTENTS_FILE)
    with override_settings(VAR_DIR=var_dir):
        train_and_store(examples, TrainingSettings(mode="fast"), show_progress=False)
    return var_dir
