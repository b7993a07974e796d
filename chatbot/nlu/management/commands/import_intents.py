"""python manage.py import_intents FILE [--replace] [--dry-run]"""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from chatbot.nlu.importing import ImportFileError, import_examples, read_examples
from knowledge.management.database_ready import require_migrated


class Command(BaseCommand):
    help = "Import intent examples from CSV (text,intent or text,category) or JSON; all or nothing."

    def add_arguments(self, parser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument("--replace", action="store_true", help="drop the stored examples first")
        parser.add_argument(
            "--dry-run", action="store_true", help="validate and count, write nothing"
        )

    def handle(self, *args, file: Path, replace: bool, dry_run: bool, **options) -> None:
        require_migrated()
        try:
            examples = read_examples(file)
        except ImportFileError as error:
            for line in error.errors:
                self.stderr.write(f"{file}: {line}")
            raise CommandError(
                f"Nothing imported: {len(error.errors)} error(s) in {file}."
            ) from None
        summary = import_examples(examples, replace=replace, dry_run=dry_run)
        verb = "Would import" if dry_run else "Imported"
        self.stdout.write(
            f"{verb} {summary.examples_created} examples "
            f"({summary.examples_already_present} already present, "
            f"{summary.duplicates_in_file} duplicates in the file), "
            f"{len(summary.intents_created)} new intents."
        )
