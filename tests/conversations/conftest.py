"""The demo bank as the transcripts meet it: the BANKING77 model and the demo knowledge graph."""

import io
import tempfile
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import override_settings

from chatbot.nlu.importing import read_examples
from chatbot.nlu.training import TrainingSettings, train_and_store

TRANSCRIPTS = Path(__file__).parent


@pytest.fixture(scope="session")
def banking_model_var_dir() -> Path:
    """Train the fast-mode model on BANKING77's training split and the conversational intents
    once; return its folder."""
    var_dir = Path(tempfile.mkdtemp(prefix="chatbot-banking-model-"))
    examples = read_examples(settings.DEMO_INTENTS_FILE)
    examples += read_examples(settings.CONVERSATION_INTENTS_FILE)
    with override_settings(VAR_DIR=var_dir):
        train_and_store(examples, TrainingSettings(mode="fast"), show_progress=False)
    return var_dir


@pytest.fixture
def demo_bank(db, settings, banking_model_var_dir):
    """Serve the BANKING77 model and the demo knowledge graph in this test."""
    settings.VAR_DIR = banking_model_var_dir
    call_command("import_knowledge", str(settings.DEMO_KNOWLEDGE_FILE), stdout=io.StringIO())
