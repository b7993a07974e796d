"""Served graphs in int8 where validation allows, and fast retrains that start where the served
model is."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnxruntime

from chatbot.nlu import training
from chatbot.nlu.classifier import (
    DYNAMIC_INT8,
    QUANTIZATION_PROPERTY,
    IntentClassifier,
    promoted_classifier,
)
from chatbot.nlu.importing import LabelledExample
from chatbot.nlu.training import TrainingSettings, stratified_split, train_and_store
from tests.tiny_model import tiny_examples

FAST = TrainingSettings(mode="fast", head_steps=50, validation_fraction=0.25)
REPO_ROOT = Path(__file__).resolve().parents[2]


def graph_quantization(directory: Path) -> str | None:
    session = onnxruntime.InferenceSession(
        str(directory / "model.onnx"), providers=["CPUExecutionProvider"]
    )
    return session.get_modelmeta().custom_metadata_map.get(QUANTIZATION_PROPERTY)


def test_the_int8_graph_is_served_when_validation_finds_it_as_accurate(settings, tmp_path):
    settings.VAR_DIR = tmp_path

    outcome = train_and_store(tiny_examples(), FAST, show_progress=False)

    quantization = outcome.metadata["quantization"]
    assert quantization["served"] == "int8"
    assert (
        quantization["validation_accuracy_float32"] - quantization["validation_accuracy_int8"]
        <= quantization["tolerance"]
    )
    assert graph_quantization(outcome.directory) == DYNAMIC_INT8
    # Smaller on disk too: int8 weights instead of float32.
    float_graph = next(
        p for p in (tmp_path / "models" / "encoders").iterdir() if not p.name.endswith("-int8")
    )
    assert (outcome.directory / "model.onnx").stat().st_size < (
        float_graph / "model.onnx"
    ).stat().st_size / 2


def test_the_float_graph_is_served_when_int8_loses_accuracy(settings, tmp_path, monkeypatch):
    settings.VAR_DIR = tmp_path
    # A negative tolerance: int8 loses whatever it scores.
    monkeypatch.setattr(training, "QUANTIZATION_TOLERANCE", -0.01)

    outcome = train_and_store(tiny_examples(), FAST, show_progress=False)

    assert outcome.metadata["quantization"]["served"] == "float32"
    assert graph_quantization(outcome.directory) is None
    assert promoted_classifier().classify(["somebody stole my card"])[0].intent == (
        "lost_or_stolen_card"
    )


def test_an_int8_model_answers_a_text_the_same_alone_or_in_any_batch(settings, tmp_path):
    settings.VAR_DIR = tmp_path
    outcome = train_and_store(tiny_examples(), FAST, show_progress=False)
    classifier = IntentClassifier(outcome.directory)
    text = "my card never came"

    alone = classifier.logits([text])
    with_short = classifier.logits(["hi", text])[1]
    with_long = classifier.logits([text, "why was my top up declined again " * 6])[0]

    # Batched, a text's activations were scaled by the whole batch's range: its logits moved by
    # up to half a unit. Alone, only the rounding of the head's matrix product differs.
    assert np.allclose(alone[0], with_short, atol=1e-4)
    assert np.allclose(alone[0], with_long, atol=1e-4)


def test_an_added_example_never_moves_a_training_example_into_validation():
    examples = tiny_examples()
    training_before, validation_before = stratified_split(examples, 0.25, seed=13)

    for count in range(1, 6):
        added = [
            LabelledExample(f"is there fee number {i} for exchanging money", "exchange_rate")
            for i in range(count)
        ]
        training_after, validation_after = stratified_split(examples + added, 0.25, seed=13)
        grown = len(validation_after) != len(validation_before)
        # A served model that trained on an example is never judged on it, unless the
        # intent's held-out share itself grew by one.
        moved = set(training_before) & set(validation_after)
        assert len(moved) <= (1 if grown else 0)


def test_a_fast_retrain_starts_from_the_served_models_directions(settings, tmp_path):
    settings.VAR_DIR = tmp_path
    first = train_and_store(tiny_examples(), FAST, show_progress=False)
    more = tiny_examples() + [LabelledExample("my card has gone missing", "lost_or_stolen_card")]

    second = train_and_store(more, FAST, show_progress=False)
    (stage,) = second.metadata["history"]
    assert stage["started_from"] == first.version
    assert stage["steps"] == FAST.warm_head_steps
    assert second.is_promoted

    # Other intents, or a cold retrain, start from the centroids.
    cold = train_and_store(
        more, TrainingSettings(**{**FAST.__dict__, "warm_start": False}), show_progress=False
    )
    (stage,) = cold.metadata["history"]
    assert stage["started_from"] == "centroids"
    fewer = [e for e in more if e.intent != "top_up_failed"]
    (stage,) = train_and_store(fewer, FAST, show_progress=False).metadata["history"]
    assert stage["started_from"] == "centroids"
    # Another split: the served model trained on some of the new validation questions.
    for changed in ({"seed": FAST.seed + 1}, {"validation_fraction": 0.3}):
        train_and_store(more, FAST, show_progress=False, force=True)
        other_split = TrainingSettings(**{**FAST.__dict__, **changed})
        (stage,) = train_and_store(more, other_split, show_progress=False).metadata["history"]
        assert stage["started_from"] == "centroids"


RETRAIN = """
import json, sys
import django
django.setup()
from chatbot.nlu.importing import LabelledExample
from chatbot.nlu.training import TrainingSettings, train_and_store
from tests.tiny_model import tiny_examples
examples = tiny_examples() + [LabelledExample("still waiting on the card", "card_arrival")]
settings = TrainingSettings(mode="fast", head_steps=50, validation_fraction=0.25)
outcome = train_and_store(examples, settings, show_progress=False)
print(json.dumps({
    "torch": "torch" in sys.modules,
    "transformers": "transformers" in sys.modules,
    "embedded": outcome.metadata["sentence_vector_cache"]["embedded"],
    "promoted": outcome.is_promoted,
}))
"""


def test_a_cached_fast_retrain_never_imports_torch(settings, tmp_path):
    settings.VAR_DIR = tmp_path
    train_and_store(tiny_examples(), FAST, show_progress=False)
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "chatbot.settings",
        "VAR_DIR": str(tmp_path),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
    }

    completed = subprocess.run(
        [sys.executable, "-c", RETRAIN],
        cwd=REPO_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )

    assert completed.returncode == 0, completed.stderr
    assert json.loads(completed.stdout.splitlines()[-1]) == {
        "torch": False,
        "transformers": False,
        "embedded": 1,
        "promoted": True,
    }
