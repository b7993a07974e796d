"""Training on the real encoder, tiny data: artefacts, calibration, promotion, serving."""

import json
import shutil

import numpy as np
import pytest
from django.core.management import CommandError, call_command

from chatbot.nlu import artefacts
from chatbot.nlu import training as training_module
from chatbot.nlu.classifier import IntentClassifier, promoted_classifier
from chatbot.nlu.importing import LabelledExample
from chatbot.nlu.operating_points import DEFAULT_RULE, threshold_for
from chatbot.nlu.out_of_scope import DETECTORS
from chatbot.nlu.scope_selection import REAL_UNKNOWNS, STAND_IN_UNKNOWNS, load_scores
from chatbot.nlu.training import (
    TrainingSettings,
    _decide_promotion,
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
        "head.npy",
        "metadata.json",
        "model.onnx",
        "reference.npz",
        "tokenizer.json",
        "validation_scores.npz",
    ]
    assert metadata["version"] == version
    assert metadata["labels"] == sorted(TINY_INTENTS)
    assert metadata["data_hash"] == data_hash(tiny_examples())
    assert metadata["settings"]["mode"] == "fast"
    assert metadata["examples"] == {
        "training": 24,
        "validation": 8,
        "out_of_scope": 0,
        "reference": 24,
    }
    assert metadata["validation"]["summary"]["top1_accuracy"] >= 0.75
    assert metadata["calibration"]["temperature"] > 0
    scope = metadata["scope"]
    assert scope["rule"] == DEFAULT_RULE and scope["detector"] in DETECTORS
    assert set(scope["detectors"]) == set(DETECTORS)
    assert scope["unknowns"] == STAND_IN_UNKNOWNS
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
    metadata["validation"] = {
        **metadata["validation"],
        "summary": {**metadata["validation"]["summary"], "top1_accuracy": 0.0},
    }
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
    assert outcome.metadata["scope"]["unknowns"] == REAL_UNKNOWNS
    summary = outcome.metadata["validation"]["summary"]
    assert summary["out_of_scope_examples"] == 4
    assert set(summary) >= {"out_of_scope_recall", "out_of_scope_precision", "out_of_scope_auroc"}
    assert IntentClassifier(outcome.directory).labels == sorted(TINY_INTENTS)


def test_fine_tuning_starts_from_the_intents_mean_vectors_on_a_first_run(
    settings, tmp_path, monkeypatch
):
    # A new VAR_DIR: the frozen encoder is exported first, which loads the network before the
    # mean vectors exist.
    settings.VAR_DIR = tmp_path
    starts = []

    def record_the_start(trainer, training, targets, validation):
        starts.append(
            (trainer.network.classifier.weight.detach().numpy().copy(), trainer.directions)
        )

    monkeypatch.setattr(training_module._Trainer, "_fine_tune", record_the_start)
    training = TrainingSettings(mode="finetune", epochs=1, batch_size=8, validation_fraction=0.25)

    train_and_store(tiny_examples(), training, show_progress=False)

    ((weight, directions),) = starts
    assert np.allclose(weight, directions)
    assert np.allclose(np.linalg.norm(weight, axis=1), 1.0)


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

    call_command("train_intents", "--fast", "--operating-point", "precise", verbosity=0)

    printed = capsys.readouterr().out
    assert "Promoted" in printed and "operating point precise" in printed
    metadata = artefacts.read_metadata(artefacts.promoted_version())
    assert metadata["scope"]["rule"] == "precise"
    assert metadata["settings"]["operating_point"] == "precise"


def test_the_evaluate_command_leads_its_json_with_the_summary(tiny_model, tmp_path, capsys):
    csv_path = tmp_path / "held_out.csv"
    csv_path.write_text(
        "text,intent\nmy card got stolen,lost_or_stolen_card\ncard not here yet,card_arrival\n"
    )

    call_command("evaluate_intents", "--data", str(csv_path), "--json")

    report = json.loads(capsys.readouterr().out)
    assert next(iter(report)) == "summary"
    assert report["summary"]["examples"] == 2 and report["summary"]["top1_accuracy"] == 1.0
    assert report["model_version"] == artefacts.promoted_version()
    assert report["operating_point"]["rule"] == DEFAULT_RULE


def test_the_evaluate_command_prints_the_summary_alone_on_request(tiny_model, tmp_path, capsys):
    csv_path = tmp_path / "held_out.csv"
    csv_path.write_text("text,intent\nmy card got stolen,lost_or_stolen_card\n")

    call_command("evaluate_intents", "--data", str(csv_path), "--summary")

    printed = capsys.readouterr().out
    assert "top-1 accuracy" in printed and "coverage" in printed
    assert "most confused" not in printed and "precision  recall" not in printed


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


REPLAY_TEXTS = [
    "my card got stolen",
    "card not here yet",
    "what rate for dollars",
    "top up declined",
]


def test_evaluation_replays_any_rule_on_the_stored_model_without_retraining(
    tiny_model, tmp_path, capsys
):
    csv_path = tmp_path / "held_out.csv"
    intents = ["lost_or_stolen_card", "card_arrival", "exchange_rate", "top_up_failed"]
    csv_path.write_text(
        "text,intent\n" + "".join(f"{t},{i}\n" for t, i in zip(REPLAY_TEXTS, intents, strict=True))
    )
    classifier = promoted_classifier()
    detector = classifier.detector
    values = classifier.scope_scores(REPLAY_TEXTS, (detector,))[detector]
    # The tiny model's probabilities saturate; its cosines spread.
    similarities = np.sort(classifier.scope_scores(REPLAY_TEXTS, ("similarity",))["similarity"])
    halfway = float((similarities[1] + similarities[2]) / 2)

    call_command(
        "evaluate_intents", "--data", str(csv_path), "--operating-point", "precise", "--json"
    )
    replayed = json.loads(capsys.readouterr().out)
    call_command(
        "evaluate_intents",
        "--data",
        str(csv_path),
        "--threshold",
        str(halfway),
        "--detector",
        "similarity",
        "--json",
    )
    explicit = json.loads(capsys.readouterr().out)

    expected = threshold_for("precise", load_scores(classifier.directory, detector))
    assert replayed["operating_point"] == {
        "rule": "precise",
        "detector": detector,
        "threshold": expected,
    }
    assert replayed["summary"]["coverage"] == round(float((values >= expected).mean()), 6)
    # Two of the four texts score below the explicit threshold: half are refused.
    assert explicit["operating_point"]["rule"] == "explicit"
    assert explicit["summary"]["coverage"] == 0.5
    assert explicit["summary"]["rejected_right_share"] == 0.5


def test_a_new_operating_point_is_a_new_promoted_version_with_the_same_weights(
    db, settings, tmp_path, tiny_model, capsys
):
    # db: a promotion records a model.promoted event for webhook subscribers.
    shutil.copytree(tiny_model / "models", tmp_path / "models")
    settings.VAR_DIR = tmp_path
    original = artefacts.promoted_version()
    before = artefacts.read_metadata(original)

    call_command("set_operating_point", "--operating-point", "precise")

    derived = artefacts.promoted_version()
    metadata = artefacts.read_metadata(derived)
    folder = artefacts.models_root()
    stored = load_scores(folder / original, before["scope"]["detector"])
    assert derived != original and metadata["derived_from"] == original
    assert metadata["scope"]["rule"] == "precise"
    assert metadata["scope"]["threshold"] == round(threshold_for("precise", stored), 6)
    assert (folder / derived / "model.onnx").samefile(folder / original / "model.onnx")
    # The original is untouched, and the served classifier refuses by the new threshold.
    assert artefacts.read_metadata(original) == before
    assert promoted_classifier().threshold == metadata["scope"]["threshold"]
    assert "Promoted" in capsys.readouterr().out


def test_a_model_older_than_operating_points_is_refused_a_new_one_clearly(
    settings, tmp_path, tiny_model
):
    shutil.copytree(tiny_model / "models", tmp_path / "models")
    settings.VAR_DIR = tmp_path
    version = artefacts.promoted_version()
    metadata = artefacts.read_metadata(version)
    metadata.pop("format")
    artefacts.write_metadata(version, metadata)

    with pytest.raises(CommandError, match="predates operating points"):
        call_command("set_operating_point", "--operating-point", "open")
    assert artefacts.promoted_version() == version


def test_the_served_model_refuses_by_its_recorded_score_and_threshold(settings, tmp_path):
    settings.VAR_DIR = tmp_path
    training = TrainingSettings(
        mode="fast", head_steps=50, validation_fraction=0.25, threshold=0.6, detector="similarity"
    )
    outcome = train_and_store(tiny_examples(), training, show_progress=False)
    classifier = promoted_classifier()
    texts = [*REPLAY_TEXTS, "please recommend a good pizza place", "hello there"]

    predictions = classifier.classify(texts)
    similarities = classifier.scope_scores(texts, ("similarity",))["similarity"]

    assert outcome.metadata["scope"] | {"detectors": None, "standardisation": None} == {
        **outcome.metadata["scope"],
        "detector": "similarity",
        "rule": "explicit",
        "threshold": 0.6,
        "detectors": None,
        "standardisation": None,
    }
    assert [p.is_low_confidence for p in predictions] == [bool(s < 0.6) for s in similarities]
    # Both sides occur, so the comparison above decides something.
    assert {p.is_low_confidence for p in predictions} == {True, False}
