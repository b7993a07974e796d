"""python manage.py evaluate_intents --data FILE [--out-of-scope-label NAME] [--summary | --json]
[--model VERSION] [--operating-point RULE | --threshold X] [--detector NAME]"""

import json
from pathlib import Path

import numpy as np
from django.core.management.base import BaseCommand, CommandError

from chatbot.nlu import artefacts
from chatbot.nlu.classifier import IntentClassifier
from chatbot.nlu.evaluation import evaluate_predictions
from chatbot.nlu.importing import ImportFileError, read_examples
from chatbot.nlu.operating_points import RULES, threshold_for
from chatbot.nlu.out_of_scope import DETECTORS
from chatbot.nlu.scope_selection import load_scores

BATCH = 64
SUMMARY_LINES = (
    ("top1_accuracy", "top-1 accuracy (the guess alone)"),
    ("accuracy_rejections_wrong", "accuracy, a refusal counted wrong"),
    ("coverage", "coverage (share answered)"),
    ("accepted_accuracy", "accuracy of what is answered"),
    ("rejected_right_share", "right guesses refused"),
    ("macro_f1", "macro-F1 (the guess alone)"),
    ("errors_auroc", "AUROC, right vs wrong guesses"),
    ("out_of_scope_precision", "out-of-scope precision"),
    ("out_of_scope_recall", "out-of-scope recall"),
    ("out_of_scope_f1", "out-of-scope F1"),
    ("out_of_scope_auroc", "out-of-scope AUROC"),
    ("overall_accuracy", "overall accuracy (out-of-scope refused = right)"),
)


class Command(BaseCommand):
    help = (
        "Evaluate a trained intent model on a labelled CSV/JSON file: a summary that counts "
        "refusals honestly, then per-intent rows and confusions. Any operating point can be "
        "replayed on the stored model without retraining."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--data", type=Path, required=True)
        parser.add_argument("--out-of-scope-label")
        parser.add_argument("--model", help="a stored model version (default: the promoted one)")
        parser.add_argument(
            "--operating-point", choices=RULES, help="replay this rule on the model's validation"
        )
        parser.add_argument("--threshold", type=float, help="refuse below this score")
        parser.add_argument("--detector", choices=DETECTORS, help="the score to refuse by")
        output = parser.add_mutually_exclusive_group()
        output.add_argument("--summary", action="store_true", help="print the summary alone")
        output.add_argument("--json", action="store_true")
        parser.add_argument("--threads", type=int, default=2)

    def handle(self, *args, data: Path, out_of_scope_label: str | None, **options) -> None:
        if options["operating_point"] and options["threshold"] is not None:
            raise CommandError("Give --operating-point or --threshold, not both.")
        classifier = self._classifier(options["model"], options["threads"])
        try:
            examples = read_examples(data)
        except ImportFileError as error:
            raise CommandError(f"{data}: " + "; ".join(error.errors[:20])) from None
        detector, threshold, rule = self._operating_point(classifier, options)
        texts = [e.text for e in examples]
        logits, scores = [], []
        for start in range(0, len(texts), BATCH):
            batch = classifier.scope_scores(texts[start : start + BATCH], (detector,))
            logits.append(batch["logits"])
            scores.append(batch[detector])
        values = np.concatenate(scores)
        report = evaluate_predictions(
            [e.intent for e in examples],
            [classifier.labels[i] for i in np.concatenate(logits).argmax(axis=-1)],
            rejected=list(values < threshold),
            out_of_scope_label=out_of_scope_label,
            scores=list(values),
        )
        report = {
            "summary": report["summary"],
            "model_version": classifier.version,
            "operating_point": {"rule": rule, "detector": detector, "threshold": threshold},
            "per_intent": report["per_intent"],
            "most_confused": report["most_confused"],
        }
        if options["json"]:
            self.stdout.write(json.dumps(report, indent=2))
        else:
            self._print_report(report, summary_only=options["summary"])

    def _classifier(self, version: str | None, threads: int) -> IntentClassifier:
        version = version or artefacts.promoted_version()
        if version is None:
            raise CommandError("No trained model yet: run train_intents first.")
        directory = artefacts.models_root() / version
        if not (directory / "metadata.json").exists():
            raise CommandError(f"No stored model {version!r}.")
        return IntentClassifier(directory, threads)

    def _operating_point(self, classifier: IntentClassifier, options: dict):
        """Return the detector, threshold and rule to evaluate at."""
        detector = options["detector"] or classifier.detector
        if classifier.format < 2 and detector != "probability":
            raise CommandError(f"Model {classifier.version} only has the probability score.")
        if options["threshold"] is not None:
            return detector, options["threshold"], "explicit"
        rule = options["operating_point"]
        if rule is None and detector == classifier.detector:
            return (
                detector,
                classifier.threshold,
                classifier.metadata.get("scope", {}).get("rule", "as trained"),
            )
        try:
            stored = load_scores(classifier.directory, detector)
        except (FileNotFoundError, ValueError) as error:
            raise CommandError(str(error)) from None
        rule = rule or classifier.metadata["scope"]["rule"]
        if rule not in RULES:
            raise CommandError(f"The model's rule is {rule!r}: name one of {', '.join(RULES)}.")
        return detector, threshold_for(rule, stored), rule

    def _print_report(self, report: dict, summary_only: bool) -> None:
        summary, point = report["summary"], report["operating_point"]
        self.stdout.write(
            f"Model {report['model_version']} on {summary['examples']} examples; "
            f"operating point {point['rule']}: refuse when the {point['detector']} score is "
            f"below {point['threshold']:.4f}"
        )
        for key, label in SUMMARY_LINES:
            if summary.get(key) is not None:
                self.stdout.write(f"  {label:<48} {summary[key]:.4f}")
        if summary_only:
            return
        self.stdout.write(
            "\n  intent                                     precision  recall  support"
        )
        for intent, row in report["per_intent"].items():
            self.stdout.write(
                f"  {intent:<42} {row['precision']:>9.3f} {row['recall']:>7.3f} {row['support']:>8}"
            )
        self.stdout.write("\n  most confused (true -> predicted)")
        for pair in report["most_confused"]:
            self.stdout.write(f"  {pair['count']:>4}  {pair['true']} -> {pair['predicted']}")
