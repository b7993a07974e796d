"""Classification metrics: accuracy, macro-F1, per-intent scores, confusions, rejection."""

from collections import Counter


def evaluate_predictions(
    true_labels: list[str],
    predicted_labels: list[str],
    rejected: list[bool] | None = None,
    out_of_scope_label: str | None = None,
    confusion_count: int = 10,
) -> dict:
    """Return the metrics of predictions against the truth.

    Args:
        true_labels: the right intent of each example (the out-of-scope label for rejections).
        predicted_labels: the classifier's top intent for each example.
        rejected: whether the classifier flagged each example as low confidence / out of scope.
        out_of_scope_label: the label that marks examples the bot should reject.
        confusion_count: how many of the most confused pairs to list.

    Returns:
        accuracy and macro-F1 over in-scope examples, per-intent precision/recall/F1/support,
        the most confused pairs, and with an out-of-scope label: in-scope accuracy (a rejected
        in-scope example counts as wrong) and out-of-scope recall.
    """
    rejected = rejected or [False] * len(true_labels)
    in_scope = [i for i, label in enumerate(true_labels) if label != out_of_scope_label]
    truth = [true_labels[i] for i in in_scope]
    predictions = [predicted_labels[i] for i in in_scope]
    per_intent = _per_intent(truth, predictions)
    metrics = {
        "examples": len(true_labels),
        "accuracy": _ratio(
            sum(t == p for t, p in zip(truth, predictions, strict=True)), len(truth)
        ),
        "macro_f1": _ratio(sum(row["f1"] for row in per_intent.values()), len(per_intent)),
        "per_intent": per_intent,
        "most_confused": _most_confused(truth, predictions, confusion_count),
    }
    if out_of_scope_label is not None:
        out_of_scope = [i for i, label in enumerate(true_labels) if label == out_of_scope_label]
        metrics["in_scope_accuracy"] = _ratio(
            sum(true_labels[i] == predicted_labels[i] and not rejected[i] for i in in_scope),
            len(in_scope),
        )
        metrics["out_of_scope_recall"] = _ratio(
            sum(rejected[i] for i in out_of_scope), len(out_of_scope)
        )
        metrics["out_of_scope_examples"] = len(out_of_scope)
    return metrics


def _per_intent(truth: list[str], predictions: list[str]) -> dict[str, dict]:
    true_positives = Counter(t for t, p in zip(truth, predictions, strict=True) if t == p)
    predicted = Counter(predictions)
    support = Counter(truth)
    rows = {}
    for label in sorted(support):
        precision = _ratio(true_positives[label], predicted[label])
        recall = _ratio(true_positives[label], support[label])
        f1 = _ratio(2 * precision * recall, precision + recall)
        rows[label] = {
            "precision": precision,
            "recall": recall,
            "f1": f1,
            "support": support[label],
        }
    return rows


def _most_confused(truth: list[str], predictions: list[str], count: int) -> list[dict]:
    pairs = Counter((t, p) for t, p in zip(truth, predictions, strict=True) if t != p)
    return [
        {"true": true, "predicted": predicted, "count": n}
        for (true, predicted), n in pairs.most_common(count)
    ]


def _ratio(numerator: float, denominator: float) -> float:
    return round(numerator / denominator, 6) if denominator else 0.0
