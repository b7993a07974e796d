"""The frozen encoder's sentence vectors, cached on disk between training runs."""

import dataclasses
import functools
import logging
import os
import time

import numpy as np
import pytest

from chatbot.nlu import training
from chatbot.nlu.classifier import promoted_classifier
from chatbot.nlu.embedding_cache import (
    ABANDONED_TEMPORARY_SECONDS,
    EmbeddingCache,
    cache_root,
    encoder_identity,
)
from chatbot.nlu.importing import LabelledExample
from chatbot.nlu.training import TrainingSettings, train_and_store
from tests.tiny_model import tiny_examples

# The float graph's cache alone: int8 serving adds a second one (tests/nlu/test_quantization.py).
FAST = TrainingSettings(mode="fast", head_steps=25, validation_fraction=0.25, quantize=False)
TINY_TEXT_COUNT = 32


@pytest.fixture
def sentences_embedded(monkeypatch) -> list[int]:
    """Record how many sentences each call of the frozen encoder embeds for training.

    The first export's check against torch is not counted: it runs once per encoder, whatever
    is cached.
    """
    counts: list[int] = []
    base_session = training._Trainer._base_encoder_session

    class CountingSession:
        def __init__(self, session) -> None:
            self.session = session

        def vectors(self, texts: list[str]):
            counts.append(len(texts))
            return self.session.vectors(texts)

    @functools.wraps(base_session)
    def counting_session(trainer):
        return CountingSession(base_session(trainer))

    monkeypatch.setattr(training._Trainer, "_base_encoder_session", counting_session)
    return counts


def test_a_second_training_on_the_same_examples_embeds_none_again_and_says_so(
    settings, tmp_path, sentences_embedded, capsys
):
    settings.VAR_DIR = tmp_path
    train_and_store(tiny_examples(), FAST, show_progress=False)
    first_run = sum(sentences_embedded)
    sentences_embedded.clear()

    outcome = train_and_store(tiny_examples(), FAST, show_progress=True)

    assert first_run == TINY_TEXT_COUNT
    assert sentences_embedded == []
    assert outcome.metadata["sentence_vector_cache"] == {"reused": TINY_TEXT_COUNT, "embedded": 0}
    assert outcome.metadata["validation"]["summary"]["top1_accuracy"] >= 0.75
    progress = capsys.readouterr().err
    assert "Embedding examples: 24 reused from the cache, 0 to embed" in progress
    assert "Embedding validation: 8 reused from the cache, 0 to embed" in progress


def test_a_retrain_with_every_vector_cached_never_loads_the_encoder(
    settings, tmp_path, monkeypatch
):
    settings.VAR_DIR = tmp_path
    first = train_and_store(tiny_examples(), FAST, show_progress=False)

    def refuse(*args, **kwargs):
        raise AssertionError("the encoder was loaded although every vector is cached")

    monkeypatch.setattr("chatbot.nlu.network.load_base_network", refuse)
    monkeypatch.setattr("chatbot.nlu.network.load_base_tokenizer", refuse)
    second = train_and_store(tiny_examples(), FAST, show_progress=False, force=True)

    # The exported frozen encoder is shared: the same file, linked into both models.
    assert (second.directory / "model.onnx").samefile(first.directory / "model.onnx")
    assert second.metadata["onnx_max_abs_difference"] < 1e-3
    assert promoted_classifier().classify(["somebody stole my card"])[0].intent == (
        "lost_or_stolen_card"
    )


def test_only_a_changed_example_is_embedded_again(settings, tmp_path, sentences_embedded):
    settings.VAR_DIR = tmp_path
    examples = tiny_examples()
    train_and_store(examples, FAST, show_progress=False)
    sentences_embedded.clear()
    examples[0] = LabelledExample("my new card has still not turned up", examples[0].intent)

    outcome = train_and_store(examples, FAST, show_progress=False)

    assert sentences_embedded == [1]
    assert outcome.metadata["sentence_vector_cache"] == {
        "reused": TINY_TEXT_COUNT - 1,
        "embedded": 1,
    }


def test_another_encoder_setting_reuses_no_vectors(settings, tmp_path, sentences_embedded):
    settings.VAR_DIR = tmp_path
    train_and_store(tiny_examples(), FAST, show_progress=False)
    sentences_embedded.clear()
    shorter = dataclasses.replace(FAST, max_length=8)

    outcome = train_and_store(tiny_examples(), shorter, show_progress=False)

    assert sum(sentences_embedded) == TINY_TEXT_COUNT
    assert outcome.metadata["sentence_vector_cache"] == {"reused": 0, "embedded": TINY_TEXT_COUNT}
    assert len(list(cache_root().iterdir())) == 2


def test_a_corrupt_cache_file_is_ignored_with_a_warning_and_rebuilt(
    settings, tmp_path, sentences_embedded, caplog
):
    settings.VAR_DIR = tmp_path
    train_and_store(tiny_examples(), FAST, show_progress=False)
    sentences_embedded.clear()
    # The run stored two files: the training examples' vectors and the validation ones'.
    segment = max(cache_root().glob("*/*.npz"), key=lambda path: path.stat().st_size)
    segment.write_bytes(segment.read_bytes()[:1000])

    with caplog.at_level(logging.WARNING, logger="chatbot.nlu.embedding_cache"):
        outcome = train_and_store(tiny_examples(), FAST, show_progress=False)

    assert sum(sentences_embedded) == 24
    assert outcome.metadata["sentence_vector_cache"] == {"reused": 8, "embedded": 24}
    (warning,) = cache_warnings(caplog)
    assert str(segment) in warning and "unreadable" in warning
    assert not segment.exists()
    (identity,) = cache_root().iterdir()
    texts = [e.text for e in tiny_examples()]
    assert len(EmbeddingCache(cache_root(), identity.name).cached(texts)) == TINY_TEXT_COUNT


def cache_warnings(caplog) -> list[str]:
    """Return the cache's warnings, leaving out what the libraries log."""
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "chatbot.nlu.embedding_cache" and r.levelno == logging.WARNING
    ]


# The cache on its own, with a stand-in encoder: no torch, no model.


def fake_embed(texts: list[str]) -> np.ndarray:
    """Return a vector per text that depends on the text only."""
    return np.array([[len(text), sum(map(ord, text)) % 97, 1.0] for text in texts], np.float32)


def cached_run(cache: EmbeddingCache, texts: list[str]) -> dict[str, np.ndarray]:
    """Look texts up and add the missing ones, as a training run does; return every vector."""
    found = cache.cached(texts)
    missing = [text for text in dict.fromkeys(texts) if text not in found]
    if missing:
        cache.add(missing, fake_embed(missing))
    return {**found, **dict(zip(missing, fake_embed(missing), strict=True))}


def test_a_vector_is_served_only_to_the_identity_that_made_it(tmp_path):
    cached_run(EmbeddingCache(tmp_path, "a" * 64), ["hello", "lost card"])

    other = EmbeddingCache(tmp_path, "b" * 64)
    same = EmbeddingCache(tmp_path, "a" * 64)

    assert other.cached(["hello", "lost card"]) == {}
    found = same.cached(["hello", "lost card", "new"])
    assert sorted(found) == ["hello", "lost card"]
    assert np.array_equal(found["hello"], fake_embed(["hello"])[0])


def test_a_file_of_another_identity_is_ignored_with_a_warning(tmp_path, caplog):
    cached_run(EmbeddingCache(tmp_path, "a" * 64), ["hello"])
    (segment,) = (tmp_path / ("a" * 64)).iterdir()
    (tmp_path / ("b" * 64)).mkdir()
    misfiled = segment.rename(tmp_path / ("b" * 64) / segment.name)

    with caplog.at_level(logging.WARNING, logger="chatbot.nlu.embedding_cache"):
        found = EmbeddingCache(tmp_path, "b" * 64).cached(["hello"])

    assert found == {}
    assert "another encoder identity" in cache_warnings(caplog)[0]
    assert not misfiled.exists()


def test_the_identity_changes_with_any_model_file_and_with_the_settings(tmp_path):
    (tmp_path / "pooling").mkdir()
    (tmp_path / "model.safetensors").write_bytes(b"weights")
    (tmp_path / "pooling" / "config.json").write_text('{"mean": true}')
    before = encoder_identity(tmp_path, {"max_length": 64})

    (tmp_path / "pooling" / "config.json").write_text('{"mean": false}')
    after = encoder_identity(tmp_path, {"max_length": 64})

    assert before != after
    assert encoder_identity(tmp_path, {"max_length": 64}) == after
    assert encoder_identity(tmp_path, {"max_length": 32}) != after


def test_concurrent_runs_keep_each_others_vectors(tmp_path):
    first, second = EmbeddingCache(tmp_path, "a" * 64), EmbeddingCache(tmp_path, "a" * 64)
    first.cached(["one"]), second.cached(["two"])

    first.add(["one"], fake_embed(["one"]))
    second.add(["two"], fake_embed(["two"]))

    assert sorted(EmbeddingCache(tmp_path, "a" * 64).cached(["one", "two"])) == ["one", "two"]


def test_a_half_written_file_is_never_read_and_is_removed_once_abandoned(tmp_path, caplog):
    cached_run(EmbeddingCache(tmp_path, "a" * 64), ["hello"])
    half_written = tmp_path / ("a" * 64) / ".20260101-123-abcd.tmp"
    half_written.write_bytes(b"PK\x03\x04 half")
    long_ago = time.time() - ABANDONED_TEMPORARY_SECONDS - 1
    os.utime(half_written, (long_ago, long_ago))

    with caplog.at_level(logging.WARNING, logger="chatbot.nlu.embedding_cache"):
        cached_run(EmbeddingCache(tmp_path, "a" * 64), ["hello", "new"])

    assert cache_warnings(caplog) == []
    assert not half_written.exists()


def test_the_cache_stays_bounded_and_keeps_what_the_last_run_used(tmp_path):
    for run in range(6):
        cache = EmbeddingCache(tmp_path, "a" * 64, max_vectors=4, max_segments=2)
        cached_run(cache, [f"old {run}", f"other {run}"])
    last = EmbeddingCache(tmp_path, "a" * 64, max_vectors=4, max_segments=2)
    cached_run(last, ["old 5", "new 1", "new 2"])

    found = EmbeddingCache(tmp_path, "a" * 64).cached(
        [f"{kind} {run}" for kind in ("old", "other", "new") for run in range(6)]
    )

    assert len(list((tmp_path / ("a" * 64)).glob("*.npz"))) <= 3
    assert len(found) == 4
    assert {"old 5", "new 1", "new 2"} <= set(found)


def test_only_the_most_recently_used_identities_are_kept(tmp_path):
    for identity in "abcde":
        cached_run(EmbeddingCache(tmp_path, identity * 64), ["hello"])
        time.sleep(0.01)

    assert sorted(p.name[0] for p in tmp_path.iterdir()) == ["b", "c", "d", "e"]
