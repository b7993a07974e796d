"""python manage.py evaluate_intents --data FILE [--out-of-scope-label NAME] [--json]"""

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from chatbot.nlu.classifier import promoted_classifier
from chatbot.nlu.evaluation import evaluate_predictions
from chatbot.nlu.importing import ImportFileError, read_examples


class Command(BaseCommand):
    help = "Evaluate the promoted intent model on a labelled CSV/JSON file."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--data", type=Path, required=True)
        parser.add_argument("--out-of-scope-label")
        parser.add_argument("--json", action="store_true")
        parser.add_argument("--threads", type=int, default=2)

    def handle(self, *args, data: Path, out_of_scope_label: str | None, **options) -> None:
        classifier = promoted_classifier(threads=options["threads"])
        if classifier is None:
            raise CommandError("No trained model yet: run train_intents first.")
        try:
            examples = read_examples(data)
        except ImportFileError as error:
            raise CommandError(f"{data}: " + "; ".join(error.errors[:20])) from None
        predictions = []
        for start in range(0, len(examples), 64):
            predictions += classifier.classify([e.text for e in examples[start : start + 64]])
        metrics = evaluate_predictions(
            [e.intent for e in examples],
            [p.intent for p in predictions],
            rejected=[p.is_low_confidence for p in predictions],
            out_of_scope_label=out_of_scope_label,
        )
        metrics["model_version"] = classifier.version
        if options["json"]:
            self.stdout.write(json.dumps(metrics, indent=2))
            return
        self._print_report(metrics)

    def _print_report(self, metrics: dict) -> None:
        self.stdout.write(f"Model {metrics['model_version']} on {metrics['examples']} examples")
        self.stdout.write(f"  accuracy  {metrics['accuracy']:.4f}")
        self.stdout.write(f"  macro-F1  {metrics['macro_f1']:.4f}")
        if "out_of_scope_recall" in metrics:
            self.stdout.write(f"  in-scope accuracy    {metrics['in_scope_accuracy']:.4f}")
            self.stdout.write(f"  out-of-scope recall  {metrics['out_of_scope_recall']:.4f}")
        self.stdout.write(
            "\n  intent                                     precision  recall  support"
        )
        for intent, row in metrics["per_intent"].items():
            self.stdout.write(
                f"  {intent:<42} {row['precision']:>9.3f} {row['recall']:>7.3f} {row['support']:>8}"
            )
        self.stdout.write("\n  most confused (true -> predicted)")
        for pair in metrics["most_confused"]:
            self.stdout.write(f"  {pair['count']:>4}  {pair['true']} -> {pair['predicted']}")
