"""python manage.py export_knowledge FILE"""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from knowledge.exporting import export_to
from knowledge.management.database_ready import require_migrated
from knowledge.validation import InvalidKnowledge


class Command(BaseCommand):
    help = "Export the knowledge graph to .json, .graphml, or a directory (nodes.csv, edges.csv)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("file", type=Path)

    def handle(self, *args, file: Path, **options) -> None:
        require_migrated()
        try:
            nodes, relations = export_to(file)
        except InvalidKnowledge as error:
            raise CommandError(str(error)) from None
        self.stdout.write(f"Exported {nodes} nodes and {relations} relations to {file}.")
