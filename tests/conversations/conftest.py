"""The demo bank as the transcripts meet it: the BANKING77 model and the demo knowledge graph."""

import io
from pathlib import Path

import pytest
from django.core.management import call_command

TRANSCRIPTS = Path(__file__).parent


@pytest.fixture
def demo_bank(db, settings, banking_model_var_dir):
    """Serve the BANKING77 model and the demo knowledge graph in this test."""
    settings.VAR_DIR = banking_model_var_dir
    call_command("import_knowledge", str(settings.DEMO_KNOWLEDGE_FILE), stdout=io.StringIO())
