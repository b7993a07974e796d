"""python manage.py set_operating_point (--operating-point RULE | --threshold X) [--detector NAME]
[--model VERSION]"""

from django.core.management.base import BaseCommand, CommandError

from chatbot.nlu import artefacts, promotion
from chatbot.nlu.operating_points import RULES
from chatbot.nlu.out_of_scope import DETECTORS
from chatbot.nlu.scope_selection import rescoped


class Command(BaseCommand):
    help = (
        "Serve a trained model at another operating point without retraining: a new version "
        "with the same weights and the rule replayed on its validation scores, promoted."
    )

    def add_arguments(self, parser) -> None:
        point = parser.add_mutually_exclusive_group(required=True)
        point.add_argument("--operating-point", choices=RULES)
        point.add_argument("--threshold", type=float, help="refuse below this score")
        parser.add_argument("--detector", choices=DETECTORS, help="the score to refuse by")
        parser.add_argument("--model", help="a stored model version (default: the promoted one)")

    def handle(self, *args, **options) -> None:
        version = options["model"] or artefacts.promoted_version()
        if version is None:
            raise CommandError("No trained model yet: run train_intents first.")
        directory = artefacts.models_root() / version
        if not (directory / "metadata.json").exists():
            raise CommandError(f"No stored model {version!r}.")
        try:
            metadata = rescoped(
                artefacts.read_metadata(version),
                directory,
                options["operating_point"],
                options["threshold"],
                options["detector"],
            )
        except (FileNotFoundError, ValueError) as error:
            raise CommandError(str(error)) from None
        derived = artefacts.derive(version, metadata)
        promotion.promote(derived)
        scope = metadata["scope"]
        self.stdout.write(
            self.style.SUCCESS(
                f"Promoted {derived} ({version} refusing when the {scope['detector']} score is "
                f"below {scope['threshold']:.4f}, operating point {scope['rule']})."
            )
        )
