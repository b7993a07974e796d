"""python manage.py train_intents [--data FILE] [--out-of-scope-label NAME] [--fast] [--force]"""

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from chatbot.nlu.importing import ImportFileError, read_examples, stored_examples
from chatbot.nlu.operating_points import DEFAULT_RULE, RULES
from chatbot.nlu.out_of_scope import DETECTORS
from chatbot.nlu.training import TrainingSettings, train_and_store
from knowledge.management.database_ready import require_migrated


class Command(BaseCommand):
    help = "Train an intent model on all-MiniLM-L6-v2; promote it unless it is worse on validation."

    def add_arguments(self, parser) -> None:
        defaults = TrainingSettings()
        parser.add_argument(
            "--data", type=Path, help="a CSV/JSON file instead of the stored examples"
        )
        parser.add_argument(
            "--out-of-scope-label", help="examples with this label only calibrate rejection"
        )
        parser.add_argument(
            "--fast",
            action="store_true",
            help="frozen encoder: about a minute the first time, a few seconds again (vectors "
            "cached, starting from the served model's directions)",
        )
        parser.add_argument(
            "--cold",
            action="store_true",
            help="fast mode: train the directions from scratch, not from the served model's",
        )
        parser.add_argument(
            "--float",
            action="store_true",
            help="serve the float graph even where the int8 one is as accurate on validation",
        )
        parser.add_argument(
            "--force", action="store_true", help="promote even if worse on validation"
        )
        parser.add_argument(
            "--epochs", type=int, default=defaults.epochs, help="the most epochs to fine-tune"
        )
        parser.add_argument(
            "--time-budget-minutes",
            type=float,
            default=defaults.time_budget_minutes,
            help="fine-tuning runs only the epochs that end within this (0: no limit)",
        )
        parser.add_argument(
            "--encoder-learning-rate", type=float, default=defaults.encoder_learning_rate
        )
        parser.add_argument("--batch-size", type=int, default=defaults.batch_size)
        parser.add_argument(
            "--operating-point",
            choices=RULES,
            default=DEFAULT_RULE,
            help="how messages are refused: open (a refused right guess costs as much as a "
            "wrong answer), balanced (unknown intents weigh as much as known ones), precise "
            f"(answers right 97%% of the time on validation); default {DEFAULT_RULE}",
        )
        parser.add_argument(
            "--threshold", type=float, help="refuse below this score instead of a named rule"
        )
        parser.add_argument(
            "--detector",
            choices=DETECTORS,
            help="the score to refuse by (default: the best on validation; probability with "
            "--threshold)",
        )
        parser.add_argument("--threads", type=int, default=defaults.threads)
        parser.add_argument("--seed", type=int, default=defaults.seed)
        parser.add_argument(
            "--json", action="store_true", help="print the model's metadata as JSON"
        )

    def handle(self, *args, **options) -> None:
        examples = self._examples(options["data"])
        settings = TrainingSettings(
            mode="fast" if options["fast"] else "finetune",
            epochs=options["epochs"],
            time_budget_minutes=options["time_budget_minutes"] or None,
            encoder_learning_rate=options["encoder_learning_rate"],
            batch_size=options["batch_size"],
            threads=options["threads"],
            seed=options["seed"],
            operating_point=options["operating_point"],
            threshold=options["threshold"],
            detector=options["detector"],
            warm_start=not options["cold"],
            quantize=not options["float"],
        )
        try:
            outcome = train_and_store(
                examples,
                settings,
                options["out_of_scope_label"],
                force=options["force"],
                show_progress=options["verbosity"] > 0,
            )
        except ValueError as error:
            raise CommandError(str(error)) from None
        if options["json"]:
            self.stdout.write(
                json.dumps({**outcome.metadata, "promoted": outcome.is_promoted}, indent=2)
            )
            return
        summary = outcome.metadata["validation"]["summary"]
        scope = outcome.metadata["scope"]
        self.stdout.write(
            f"Model {outcome.version}, trained in {outcome.metadata['training_seconds']} s. "
            f"On validation: top-1 accuracy {summary['top1_accuracy']:.4f}, "
            f"{summary['accuracy_rejections_wrong']:.4f} with refusals counted wrong, "
            f"coverage {summary['coverage']:.4f}, answered right "
            f"{summary['accepted_accuracy']:.4f}, macro-F1 {summary['macro_f1']:.4f}.\n"
            f"Refuses when the {scope['detector']} score is below {scope['threshold']:.4f} "
            f"(operating point {scope['rule']}).\n" + _served_graph(outcome.metadata)
        )
        for note in outcome.notes:
            self.stdout.write(note)
        if outcome.is_promoted:
            self.stdout.write(self.style.SUCCESS(f"Promoted {outcome.version}."))

    def _examples(self, data: Path | None):
        if data is None:
            require_migrated()
            examples = stored_examples()
            if not examples:
                raise CommandError(
                    "No stored examples: import some with import_intents, or pass --data."
                )
            return examples
        try:
            return read_examples(data)
        except ImportFileError as error:
            raise CommandError(f"{data}: " + "; ".join(error.errors[:20])) from None


def _served_graph(metadata: dict) -> str:
    """Say which graph is served and what validation said about int8."""
    quantization = metadata["quantization"]
    if "validation_accuracy_int8" not in quantization:
        return "Serves the float graph (int8 not tried)."
    figures = (
        f"validation top-1 {quantization['validation_accuracy_int8']:.4f} in int8, "
        f"{quantization['validation_accuracy_float32']:.4f} in float"
    )
    return f"Serves the {quantization['served']} graph ({figures})."
