"""Metrics on small, hand-checked predictions."""

from chatbot.nlu.evaluation import evaluate_predictions


def test_accuracy_macro_f1_per_intent_and_confusions():
    truth = ["a", "a", "b", "b", "c"]
    predicted = ["a", "b", "b", "b", "a"]

    metrics = evaluate_predictions(truth, predicted)

    assert metrics["accuracy"] == 0.6
    assert metrics["per_intent"]["a"] == {"precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 2}
    assert metrics["per_intent"]["b"]["precision"] == round(2 / 3, 6)
    assert metrics["per_intent"]["c"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 1}
    assert metrics["macro_f1"] == round((0.5 + 0.8 + 0.0) / 3, 6)
    assert metrics["most_confused"] == [
        {"true": "a", "predicted": "b", "count": 1},
        {"true": "c", "predicted": "a", "count": 1},
    ]


def test_out_of_scope_examples_count_only_for_rejection():
    truth = ["a", "a", "oos", "oos"]
    predicted = ["a", "a", "a", "a"]
    rejected = [False, True, True, False]

    metrics = evaluate_predictions(truth, predicted, rejected, out_of_scope_label="oos")

    assert metrics["accuracy"] == 1.0
    assert metrics["in_scope_accuracy"] == 0.5
    assert metrics["out_of_scope_recall"] == 0.5
    assert "oos" not in metrics["per_intent"]
