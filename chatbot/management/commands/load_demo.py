"""python manage.py load_demo: the demo bank's knowledge graph and intents, and a first model."""

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

from chatbot.nlu import artefacts
from chatbot.nlu.models import TrainingExample
from handoff.demo import load_demo_desk
from knowledge.management.database_ready import require_migrated
from knowledge.models import Node


class Command(BaseCommand):
    help = "Load the demo bank's data where missing; train a fast intent model if none is served."

    def handle(self, *args, **options) -> None:
        require_migrated()
        if not Node.objects.exists():
            self._import_demo_knowledge()
        if load_demo_desk():
            self.stdout.write("Created the demo support desk's skills and canned replies.")
        if not TrainingExample.objects.exists():
            self._import_demo_intents()
        if artefacts.promoted_version() is None and TrainingExample.objects.exists():
            self.stdout.write(
                "Training a first intent model (fast mode, one to two minutes on two cores)..."
            )
            call_command("train_intents", "--fast", stdout=self.stdout, stderr=self.stderr)

    def _import_demo_intents(self) -> None:
        # The bank's own questions, and the conversational ones every bot needs (hello, thanks,
        # a person please, "and in France?").
        for path in (settings.DEMO_INTENTS_FILE, settings.CONVERSATION_INTENTS_FILE):
            if not path.exists():
                self.stderr.write(
                    f"The intents file {path} is missing: the bot runs without its intents. "
                    "Set DEMO_INTENTS_FILE and CONVERSATION_INTENTS_FILE, or import your own "
                    "with import_intents."
                )
                continue
            self.stdout.write(f"Importing intents from {path}")
            call_command("import_intents", str(path), stdout=self.stdout, stderr=self.stderr)

    def _import_demo_knowledge(self) -> None:
        path = settings.DEMO_KNOWLEDGE_FILE
        if not path.exists():
            self.stderr.write(
                f"The demo knowledge graph {path} is missing: the bot answers without it."
            )
            return
        self.stdout.write(f"Importing the demo bank's knowledge graph from {path}")
        call_command("import_knowledge", str(path), stdout=self.stdout, stderr=self.stderr)
