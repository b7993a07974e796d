"""python manage.py import_knowledge FILE [--dry-run] [--replace]"""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from knowledge.importing import import_document
from knowledge.interchange import read_document
from knowledge.management.database_ready import require_migrated
from knowledge.validation import InvalidKnowledge


class Command(BaseCommand):
    help = (
        "Import a knowledge graph from .json, .graphml, or a directory of nodes.csv and edges.csv; "
        "checked completely first, all or nothing."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument("--dry-run", action="store_true", help="check and count, write nothing")
        parser.add_argument(
            "--replace", action="store_true", help="make the graph exactly the file's"
        )

    def handle(self, *args, file: Path, dry_run: bool, replace: bool, **options) -> None:
        require_migrated()
        if not file.exists():
            raise CommandError(f"{file} does not exist")
        try:
            document = read_document(file)
            summary = import_document(
                document, replace=replace, dry_run=dry_run, progress=self._progress
            )
        except InvalidKnowledge as error:
            for problem in error.problems:
                self.stderr.write(f"{file}: {problem}")
            raise CommandError(
                f"Nothing imported: {len(error.problems)} problem(s) in {file}."
            ) from None
        if options["verbosity"] < 1:
            return
        verb = "Would import" if dry_run else "Imported"
        nodes, relations = summary.nodes, summary.relations
        self.stdout.write(
            f"{verb} {file}: nodes {nodes['created']} new, {nodes['updated']} changed, "
            f"{nodes['deleted']} removed, {nodes['unchanged']} unchanged; relations "
            f"{relations['created']} new, {relations['updated']} changed, "
            f"{relations['deleted']} removed, {relations['unchanged']} unchanged."
        )

    def _progress(self, batches, description: str, total: int):
        # Small imports finish before a bar would be read.
        if total < 3:
            return batches
        return tqdm(batches, desc=description, total=total, unit="batch", file=self.stderr._out)
