"""What the admin shows of a stored intent model: its metadata as rows and figures.

Plain Python over `metadata.json` (`chatbot.nlu.artefacts`); tolerant of models older than the
honest report and of unreadable files, since the pages list whatever is on disk.
"""

import re
from datetime import datetime

from django.utils.timezone import is_aware, localtime

from chatbot.nlu import artefacts

# artefacts.new_version() names a model by its time and data hash; derive() appends "-op".
# Nothing else reaches the disk: no dots, no slashes.
VERSION_NAME = re.compile(r"\d{8}-\d{6}(?:-[A-Za-z0-9]{1,40}){1,4}")
GAP = "—"
SUMMARY_LABELS = {
    "examples": "validation questions",
    "in_scope_examples": "in-scope questions",
    "top1_accuracy": "top-1 accuracy (the guess alone)",
    "accuracy_rejections_wrong": "accuracy, a refusal counted wrong",
    "coverage": "coverage (share answered)",
    "accepted_accuracy": "accuracy of what is answered",
    "rejected_right_share": "right guesses refused",
    "macro_f1": "macro-F1 (the guess alone)",
    "errors_auroc": "AUROC, right vs wrong guesses",
    "out_of_scope_examples": "out-of-scope questions",
    "out_of_scope_precision": "out-of-scope precision",
    "out_of_scope_recall": "out-of-scope recall",
    "out_of_scope_f1": "out-of-scope F1",
    "out_of_scope_auroc": "out-of-scope AUROC",
    "overall_accuracy": "overall accuracy (out-of-scope refused = right)",
    "in_scope_accuracy": "in-scope accuracy, a refusal counted wrong",
}
COUNTS = {"examples", "in_scope_examples", "out_of_scope_examples"}
DETECTOR_COLUMNS = (
    ("unknown_auroc", "unknown-question AUROC"),
    ("errors_auroc", "wrong-guess AUROC"),
    ("threshold", "threshold"),
    ("coverage", "coverage"),
    ("accuracy_rejections_wrong", "accuracy, a refusal counted wrong"),
    ("accepted_accuracy", "accuracy of what is answered"),
    ("unknown_refused", "unknown questions refused"),
)


def figure(value, places: int = 4) -> str:
    """Return a stored figure as shown: fractions to four places, a dash where none was measured."""
    if value is None:
        return GAP
    if isinstance(value, float):
        return f"{value:.{places}f}"
    return str(value)


def share(value) -> float | None:
    """Return a figure that a bar can show (between 0 and 1), or None."""
    if isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value <= 1:
        return value
    return None


def created(value) -> str:
    """Return a model's creation time in the site's time zone, to the minute."""
    try:
        moment = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        return figure(value)
    return (localtime(moment) if is_aware(moment) else moment).strftime("%Y-%m-%d %H:%M")


def is_honest(metadata: dict) -> bool:
    """Return whether the model stores the report that counts refusals (format 2 on)."""
    return isinstance(metadata.get("format"), int) and metadata["format"] >= 2


def _section(metadata: dict, key: str) -> dict:
    value = metadata.get(key)
    return value if isinstance(value, dict) else {}


def summary_of(metadata: dict) -> dict:
    """Return the validation figures under the honest report's names, whatever the format."""
    validation = _section(metadata, "validation")
    if is_honest(metadata):
        return _section(validation, "summary")
    # Older models measured the guess alone: their "accuracy" is the top-1 accuracy.
    old = {key: value for key, value in validation.items() if key in SUMMARY_LABELS}
    return {"top1_accuracy": validation.get("accuracy"), **old}


def operating_point(metadata: dict) -> dict:
    """Return the rule, detector and threshold that decide when the model refuses."""
    if is_honest(metadata):
        scope = _section(metadata, "scope")
        return {key: scope.get(key) for key in ("rule", "detector", "threshold")}
    calibration = _section(metadata, "calibration")
    return {
        "rule": calibration.get("rule"),
        "detector": None,
        "threshold": calibration.get("threshold"),
    }


def stored_versions() -> list[str]:
    """Return the versions of the stored models, newest first."""
    return sorted(
        (
            path.name
            for path in artefacts.models_root().iterdir()
            if VERSION_NAME.fullmatch(path.name) and (path / "metadata.json").is_file()
        ),
        reverse=True,
    )


def read_metadata(version: str) -> dict | None:
    """Return a stored model's metadata, or None when it cannot be read."""
    try:
        metadata = artefacts.read_metadata(version)
    except (OSError, ValueError):
        return None
    return metadata if isinstance(metadata, dict) else None


def model_row(version: str, metadata: dict | None, promoted: str | None) -> dict:
    """Return one model's line in the list of models."""
    row = {"version": version, "is_promoted": version == promoted, "is_readable": bool(metadata)}
    if not metadata:
        return row
    summary, point = summary_of(metadata), operating_point(metadata)
    return {
        **row,
        "is_honest": is_honest(metadata),
        "mode": figure(_section(metadata, "settings").get("mode")),
        "created": created(metadata.get("created_at")),
        "training_seconds": figure(metadata.get("training_seconds"), places=1),
        "figures": [
            figure(summary.get(key))
            for key in (
                "top1_accuracy",
                "accuracy_rejections_wrong",
                "coverage",
                "accepted_accuracy",
                "macro_f1",
            )
        ],
        "point": {key: figure(value) for key, value in point.items()},
    }


def summary_rows(summary: dict) -> list[dict]:
    """Return every summary figure with its readable label, known ones in the report's order."""
    keys = [key for key in SUMMARY_LABELS if key in summary]
    keys += sorted(key for key in summary if key not in SUMMARY_LABELS)
    return [
        {
            "label": SUMMARY_LABELS.get(key, key),
            "value": figure(summary[key]),
            "bar": None if key in COUNTS else share(summary[key]),
        }
        for key in keys
    ]


def detector_rows(scope: dict) -> list[dict]:
    """Return each out-of-scope detector's figures on validation, the chosen one marked."""
    detectors = scope.get("detectors")
    if not isinstance(detectors, dict):
        return []
    return [
        {
            "name": name,
            "is_chosen": name == scope.get("detector"),
            "values": [figure(figures.get(key)) for key, _ in DETECTOR_COLUMNS],
        }
        for name, figures in detectors.items()
        if isinstance(figures, dict)
    ]


def intent_rows(per_intent: dict) -> list[dict]:
    """Return each intent's precision, recall, F1 and support, the worst F1 first."""
    rows = [
        {
            "intent": intent,
            "values": [figure(scores.get(key)) for key in ("precision", "recall", "f1", "support")],
            "bar": share(scores.get("f1")),
        }
        for intent, scores in per_intent.items()
        if isinstance(scores, dict)
    ]
    return sorted(
        rows, key=lambda row: (row["bar"] if row["bar"] is not None else -1, row["intent"])
    )


def confusion_rows(validation: dict) -> list[dict] | None:
    """Return the most confused pairs (true intent, predicted intent, count); None if not stored."""
    pairs = validation.get("most_confused")
    if not isinstance(pairs, list):
        return None
    return [
        {key: figure(pair.get(key)) for key in ("true", "predicted", "count")}
        for pair in pairs
        if isinstance(pair, dict)
    ]


def model_report(version: str, metadata: dict, promoted: str | None) -> dict:
    """Return everything the page of one model shows."""
    validation, scope = _section(metadata, "validation"), _section(metadata, "scope")
    derived_from = metadata.get("derived_from")
    return {
        "row": model_row(version, metadata, promoted),
        "derived_from": derived_from if VERSION_NAME.fullmatch(str(derived_from)) else None,
        "examples": [
            (name.replace("_", "-"), figure(count))
            for name, count in _section(metadata, "examples").items()
        ],
        "summary": summary_rows(summary_of(metadata)),
        "unknowns": figure(scope.get("unknowns")),
        "chosen_by": figure(scope.get("chosen_by")),
        "detector_columns": [label for _, label in DETECTOR_COLUMNS],
        "detectors": detector_rows(scope),
        "intents": intent_rows(_section(validation, "per_intent")),
        "confusions": confusion_rows(validation),
        "served_graph": served_graph(_section(metadata, "quantization")),
    }


def served_graph(quantization: dict) -> dict | None:
    """Return which graph serves (int8 or float) and the validation figures that decided it."""
    if quantization.get("served") not in ("int8", "float32"):
        return None
    return {
        "served": quantization["served"],
        "int8": figure(quantization.get("validation_accuracy_int8")),
        "float32": figure(quantization.get("validation_accuracy_float32")),
    }
