"""Classification metrics that count rejection honestly: a refused right guess is not a success.

`evaluate_predictions` leads with a summary: top-1 accuracy (the guess alone), accuracy when a
rejection counts as wrong, coverage and the accuracy of what is accepted, out-of-scope
precision, recall, F1 and AUROC, macro-F1; per-intent rows and the confusions follow.
"""

from collections import Counter
from collections.abc import Sequence

import numpy as np


def evaluate_predictions(
    true_labels: Sequence[str],
    predicted_labels: Sequence[str],
    rejected: Sequence[bool] | None = None,
    out_of_scope_label: str | None = None,
    scores: Sequence[float] | None = None,
    confusion_count: int = 10,
) -> dict:
    """Return `summary`, `per_intent` and `most_confused` for predictions against the truth.

    Args:
        true_labels: the right intent of each example (`out_of_scope_label` for those the bot
            should refuse).
        predicted_labels: the classifier's top intent for each example.
        rejected: whether the classifier refused each example (low confidence, out of scope).
        out_of_scope_label: the label of examples that have no intent.
        scores: the classifier's in-scope score of each example (higher: more sure), for the
            AUROC figures.
        confusion_count: how many of the most confused pairs to list.
    """
    rejected = list(rejected) if rejected is not None else [False] * len(true_labels)
    in_scope = [i for i, label in enumerate(true_labels) if label != out_of_scope_label]
    out_of_scope = [i for i, label in enumerate(true_labels) if label == out_of_scope_label]
    truth = [true_labels[i] for i in in_scope]
    guesses = [predicted_labels[i] for i in in_scope]
    is_right = [true_labels[i] == predicted_labels[i] for i in in_scope]
    accepted = [not rejected[i] for i in in_scope]
    per_intent = _per_intent(truth, guesses)
    summary = {
        "examples": len(true_labels),
        "in_scope_examples": len(in_scope),
        "top1_accuracy": ratio(sum(is_right), len(in_scope)),
        "accuracy_rejections_wrong": ratio(
            sum(r and a for r, a in zip(is_right, accepted, strict=True)), len(in_scope)
        ),
        "coverage": ratio(sum(accepted), len(in_scope)),
        "accepted_accuracy": ratio(
            sum(r and a for r, a in zip(is_right, accepted, strict=True)), sum(accepted)
        ),
        "rejected_right_share": ratio(
            sum(r and not a for r, a in zip(is_right, accepted, strict=True)), len(in_scope)
        ),
        "macro_f1": ratio(sum(row["f1"] for row in per_intent.values()), len(per_intent)),
    }
    if scores is not None:
        summary["errors_auroc"] = auroc(
            [scores[i] for i, right in zip(in_scope, is_right, strict=True) if right],
            [scores[i] for i, right in zip(in_scope, is_right, strict=True) if not right],
        )
    if out_of_scope_label is not None:
        summary |= _out_of_scope_figures(in_scope, out_of_scope, rejected, scores)
        summary["overall_accuracy"] = ratio(
            sum(r and a for r, a in zip(is_right, accepted, strict=True))
            + sum(rejected[i] for i in out_of_scope),
            len(true_labels),
        )
    return {
        "summary": summary,
        "per_intent": per_intent,
        "most_confused": _most_confused(truth, guesses, confusion_count),
    }


def _out_of_scope_figures(
    in_scope: list[int],
    out_of_scope: list[int],
    rejected: list[bool],
    scores: Sequence[float] | None,
) -> dict:
    """Out-of-scope detection as its own classifier: a rejection is its positive guess."""
    caught = sum(rejected[i] for i in out_of_scope)
    precision = ratio(caught, sum(rejected))
    recall = ratio(caught, len(out_of_scope))
    figures = {
        "out_of_scope_examples": len(out_of_scope),
        "out_of_scope_precision": precision,
        "out_of_scope_recall": recall,
        "out_of_scope_f1": ratio(2 * precision * recall, precision + recall),
    }
    if scores is not None:
        figures["out_of_scope_auroc"] = auroc(
            [scores[i] for i in in_scope], [scores[i] for i in out_of_scope]
        )
    return figures


def auroc(positive: Sequence[float], negative: Sequence[float]) -> float | None:
    """Return the chance that a random positive scores above a random negative (ties: half).

    None when either side is empty: there is nothing to separate.
    """
    positive = np.asarray(positive, dtype=np.float64)
    negative = np.asarray(negative, dtype=np.float64)
    if not len(positive) or not len(negative):
        return None
    values = np.concatenate([positive, negative])
    order = np.argsort(values, kind="mergesort")
    _, first, counts = np.unique(values[order], return_index=True, return_counts=True)
    ranks = np.empty(len(values))
    # Tied values share the mean of the 1-based ranks they span.
    ranks[order] = np.repeat(first + (counts + 1) / 2, counts)
    above = ranks[: len(positive)].sum() - len(positive) * (len(positive) + 1) / 2
    return round(float(above / (len(positive) * len(negative))), 6)


def _per_intent(truth: list[str], predictions: list[str]) -> dict[str, dict]:
    true_positives = Counter(t for t, p in zip(truth, predictions, strict=True) if t == p)
    predicted = Counter(predictions)
    support = Counter(truth)
    rows = {}
    for label in sorted(support):
        precision = ratio(true_positives[label], predicted[label])
        recall = ratio(true_positives[label], support[label])
        rows[label] = {
            "precision": precision,
            "recall": recall,
            "f1": ratio(2 * precision * recall, precision + recall),
            "support": support[label],
        }
    return rows


def _most_confused(truth: list[str], predictions: list[str], count: int) -> list[dict]:
    pairs = Counter((t, p) for t, p in zip(truth, predictions, strict=True) if t != p)
    return [
        {"true": true, "predicted": predicted, "count": n}
        for (true, predicted), n in pairs.most_common(count)
    ]


def ratio(numerator: float, denominator: float) -> float:
    """Return numerator / denominator rounded to 6 places, 0.0 for an empty denominator."""
    return round(numerator / denominator, 6) if denominator else 0.0
