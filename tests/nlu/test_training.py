"""Training on the real encoder, tiny data: artefacts, calibration, promotion, serving."""

import json
import shutil

import numpy as np
import pytest
from django.core.management import call_command

from chatbot.nlu import artefacts
from chatbot.nlu.classifier import IntentClassifier, promoted_classifier
from chatbot.nlu.importing import LabelledExample
from chatbot.nlu.training import (
    TrainingSettings,
    _decide_promotion,
    choose_threshold,
    data_hash,
    epochs_that_fit,
    fit_temperature,
    stratified_split,
    train_and_store,
)
from tests.tiny_model import TINY_INTENTS, tiny_examples


def test_a_trained_model_is_a_versioned_artefact_with_its_metadata(tiny_model):
    version = artefacts.promoted_version()
    folder = tiny_model / "models" / "intents" / version

    metadata = json.loads((folder / "metadata.json").read_text())

    assert sorted(p.name for p in folder.iterdir()) == [
        "metadata.json",
        "model.onnx",
        "tokenizer.json",
    ]
    assert metadata["version"] == version
    assert metadata["labels"] == sorted(TINY_INTENTS)
    assert metadata["data_hash"] == data_hash(tiny_examples())
    assert metadata["settings"]["mode"] == "fast"
    assert metadata["examples"] == {"training": 24, "validation": 8, "out_of_scope": 0}
    assert metadata["validation"]["accuracy"] >= 0.75
    assert metadata["calibration"]["temperature"] > 0
    assert 0.0 <= metadata["calibration"]["threshold"] <= 1.0
    # The ONNX graph computes what the torch network computes.
    assert metadata["onnx_max_abs_difference"] < 1e-3


def test_the_served_model_recognises_new_phrasings(tiny_model):
    classifier = promoted_classifier()

    predictions = classifier.classify(
        ["somebody stole my card", "what's the dollar exchange rate", "my card has not come yet"]
    )

    assert [p.intent for p in predictions] == [
        "lost_or_stolen_card",
        "exchange_rate",
        "card_arrival",
    ]
    for prediction in predictions:
        scores = [score for _, score in prediction.ranking]
        assert scores == sorted(scores, reverse=True) and len(scores) == 4
        assert prediction.confidence == scores[0] and sum(scores) <= 1.0001
        assert prediction.model_version == artefacts.promoted_version()


def test_a_batch_gives_the_same_answers_as_one_at_a_time(tiny_model):
    classifier = promoted_classifier()
    texts = ["I lost my card", "top up failed again and again and again, why?", "rates"]

    batched = classifier.logits(texts)
    single = np.concatenate([classifier.logits([text]) for text in texts])

    assert np.allclose(batched, single, atol=1e-4)


def test_a_worse_model_is_not_promoted_unless_forced(settings, tmp_path, tiny_model):
    shutil.copytree(tiny_model / "models", tmp_path / "models")
    settings.VAR_DIR = tmp_path
    served = artefacts.promoted_version()
    worse = "20990101-000000-worse"
    shutil.copytree(
        tmp_path / "models" / "intents" / served, tmp_path / "models" / "intents" / worse
    )
    metadata = {**artefacts.read_metadata(served), "version": worse}
    metadata["validation"] = {**metadata["validation"], "accuracy": 0.0}
    artefacts.write_metadata(worse, metadata)
    _, validation = stratified_split(tiny_examples(), 0.25, 13)

    refused = _decide_promotion(worse, tmp_path, metadata, validation, force=False)
    assert artefacts.promoted_version() == served
    forced = _decide_promotion(worse, tmp_path, metadata, validation, force=True)

    assert (refused.is_promoted, forced.is_promoted) == (False, True)
    assert refused.previous_validation_accuracy >= 0.75 and "use --force" in refused.notes[0]
    assert artefacts.promoted_version() == worse


def test_fine_tuning_trains_the_encoder_and_rejection_uses_out_of_scope_examples(
    settings, tmp_path
):
    settings.VAR_DIR = tmp_path
    out_of_scope = [
        "what's the weather like",
        "tell me a joke",
        "who won the football",
        "recipe for soup",
    ]
    examples = tiny_examples() + [LabelledExample(text, "oos") for text in out_of_scope]
    training = TrainingSettings(mode="finetune", epochs=1, batch_size=8, validation_fraction=0.25)

    outcome = train_and_store(examples, training, out_of_scope_label="oos", show_progress=False)

    assert outcome.is_promoted
    assert [entry["stage"] for entry in outcome.metadata["history"]] == ["epoch 1"]
    assert "oos" not in outcome.metadata["labels"]
    assert outcome.metadata["examples"]["out_of_scope"] == 4
    assert outcome.metadata["calibration"]["rule"].startswith("balanced")
    assert set(outcome.metadata["validation"]) >= {"in_scope_accuracy", "out_of_scope_recall"}
    assert IntentClassifier(outcome.directory).labels == sorted(TINY_INTENTS)


def test_fine_tuning_runs_only_the_epochs_that_fit_its_time_budget(settings, tmp_path):
    settings.VAR_DIR = tmp_path
    # A budget that the work after fine-tuning alone exceeds: one epoch, not the three asked.
    training = TrainingSettings(
        mode="finetune", epochs=3, batch_size=8, validation_fraction=0.25, time_budget_minutes=0.01
    )

    outcome = train_and_store(tiny_examples(), training, show_progress=False)

    history = outcome.metadata["history"]
    assert [entry["stage"] for entry in history] == ["epoch 1"]
    assert history[0]["epochs_planned"] == 1 and history[0]["seconds"] > 0


def test_the_epochs_that_fit_are_whole_ones_after_those_done():
    # 100 s an epoch, two done, seven at most.
    def fit(seconds_left: float, most: int = 7) -> int:
        return epochs_that_fit(seconds_left, 100.0, 2, most)

    assert [fit(-5), fit(99), fit(100), fit(250), fit(10_000)] == [2, 2, 3, 4, 7]
    assert fit(10_000, most=5) == 5


def test_the_train_command_trains_the_stored_examples(settings, tmp_path, db, capsys):
    settings.VAR_DIR = tmp_path
    csv_path = tmp_path / "tiny.csv"
    csv_path.write_text(
        "text,intent\n" + "".join(f'"{e.text}",{e.intent}\n' for e in tiny_examples())
    )
    call_command("import_intents", str(csv_path))

    call_command("train_intents", "--fast", verbosity=0)

    assert "Promoted" in capsys.readouterr().out
    assert artefacts.promoted_version() is not None


def test_the_evaluate_command_reports_metrics_as_json(tiny_model, tmp_path, capsys):
    csv_path = tmp_path / "held_out.csv"
    csv_path.write_text(
        "text,intent\nmy card got stolen,lost_or_stolen_card\ncard not here yet,card_arrival\n"
    )

    call_command("evaluate_intents", "--data", str(csv_path), "--json")

    report = json.loads(capsys.readouterr().out)
    assert report["examples"] == 2 and report["accuracy"] == 1.0
    assert report["model_version"] == artefacts.promoted_version()


def test_the_split_holds_out_every_intent_and_is_reproducible():
    examples = tiny_examples() + [LabelledExample("only one", "rare")]

    training, validation = stratified_split(examples, 0.25, seed=1)

    assert {e.intent for e in validation} == set(TINY_INTENTS)
    assert LabelledExample("only one", "rare") in training
    assert len(validation) == 8 and len(training) == 25
    assert stratified_split(examples, 0.25, seed=1) == (training, validation)


def test_temperature_softens_overconfident_logits():
    logits = np.array([[10.0, 0.0], [10.0, 0.0], [0.0, 10.0], [10.0, 0.0]])
    targets = np.array([0, 1, 1, 0])

    assert fit_temperature(logits, targets) > 1.0


def test_the_threshold_reaches_the_target_precision_on_validation():
    labels = ["a", "b"]
    validation = [LabelledExample(str(i), "a") for i in range(4)]
    # Confidences 0.99, 0.9, 0.7, 0.6; the two least confident predictions are wrong.
    logits = np.log(np.array([[0.99, 0.01], [0.9, 0.1], [0.3, 0.7], [0.4, 0.6]]))

    threshold, details = choose_threshold(logits, validation, [], labels, target_precision=1.0)

    assert threshold == pytest.approx(0.9, abs=1e-6)
    assert details["validation_coverage"] == 0.5
