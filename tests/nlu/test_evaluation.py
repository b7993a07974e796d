"""Metrics on small, hand-checked predictions."""

import pytest

from chatbot.nlu.evaluation import auroc, evaluate_predictions


def test_accuracy_macro_f1_per_intent_and_confusions():
    truth = ["a", "a", "b", "b", "c"]
    predicted = ["a", "b", "b", "b", "a"]

    metrics = evaluate_predictions(truth, predicted)

    summary = metrics["summary"]
    assert summary["top1_accuracy"] == 0.6
    # Nothing refused: every figure that counts refusals equals the guess alone.
    assert summary["accuracy_rejections_wrong"] == summary["accepted_accuracy"] == 0.6
    assert summary["coverage"] == 1.0 and summary["rejected_right_share"] == 0.0
    assert metrics["per_intent"]["a"] == {"precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 2}
    assert metrics["per_intent"]["b"]["precision"] == round(2 / 3, 6)
    assert metrics["per_intent"]["c"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 1}
    assert summary["macro_f1"] == round((0.5 + 0.8 + 0.0) / 3, 6)
    assert metrics["most_confused"] == [
        {"true": "a", "predicted": "b", "count": 1},
        {"true": "c", "predicted": "a", "count": 1},
    ]


def test_a_refused_right_guess_counts_as_wrong_and_coverage_counts_the_answered():
    # Guesses: right, right, wrong, right, wrong. Refused: the 2nd (right) and the 3rd (wrong).
    truth = ["a", "a", "b", "b", "c"]
    predicted = ["a", "a", "a", "b", "b"]
    rejected = [False, True, True, False, False]

    summary = evaluate_predictions(truth, predicted, rejected)["summary"]

    assert summary["top1_accuracy"] == 0.6
    # Answered and right: the 1st and the 4th, of five.
    assert summary["accuracy_rejections_wrong"] == 0.4
    assert summary["coverage"] == 0.6
    # Of the three answered, two right.
    assert summary["accepted_accuracy"] == round(2 / 3, 6)
    assert summary["rejected_right_share"] == 0.2
    assert "out_of_scope_recall" not in summary


def test_out_of_scope_precision_recall_f1_and_auroc():
    truth = ["a", "a", "b", "oos", "oos", "oos"]
    predicted = ["a", "a", "b", "a", "b", "a"]
    # One in-scope question refused (a false alarm), two of three out-of-scope caught.
    rejected = [False, True, False, True, True, False]
    scores = [0.9, 0.3, 0.8, 0.2, 0.4, 0.7]

    metrics = evaluate_predictions(truth, predicted, rejected, "oos", scores)

    summary = metrics["summary"]
    assert summary["in_scope_examples"] == 3 and summary["out_of_scope_examples"] == 3
    assert summary["top1_accuracy"] == 1.0
    assert summary["accuracy_rejections_wrong"] == round(2 / 3, 6)
    assert summary["out_of_scope_precision"] == round(2 / 3, 6)
    assert summary["out_of_scope_recall"] == round(2 / 3, 6)
    assert summary["out_of_scope_f1"] == round(2 / 3, 6)
    # In-scope 0.9, 0.3, 0.8 against out-of-scope 0.2, 0.4, 0.7: 7 of the 9 pairs in order.
    assert summary["out_of_scope_auroc"] == round(7 / 9, 6)
    # Two answered right and two out-of-scope refused, of six.
    assert summary["overall_accuracy"] == round(4 / 6, 6)
    assert "oos" not in metrics["per_intent"]


def test_the_wrong_guess_auroc_compares_right_and_wrong_guesses_only():
    truth = ["a", "a", "b", "b"]
    predicted = ["a", "b", "b", "a"]
    scores = [0.9, 0.5, 0.4, 0.1]

    summary = evaluate_predictions(truth, predicted, scores=scores)["summary"]

    # Right: 0.9, 0.4; wrong: 0.5, 0.1. Pairs in order: (0.9>0.5), (0.9>0.1), (0.4>0.1): 3 of 4.
    assert summary["errors_auroc"] == 0.75


def test_auroc_counts_ties_as_half_and_needs_both_sides():
    assert auroc([1.0, 2.0], [0.0]) == 1.0
    assert auroc([0.0], [1.0, 2.0]) == 0.0
    assert auroc([0.5, 0.5], [0.5]) == 0.5
    assert auroc([0.6, 0.5], [0.5, 0.1]) == pytest.approx(0.875)
    assert auroc([], [0.3]) is None and auroc([0.3], []) is None
