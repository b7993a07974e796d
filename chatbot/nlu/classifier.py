"""Serve a trained intent model with ONNX Runtime: tokenizer and network, no torch."""

import json
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from chatbot.nlu import artefacts

TOP_INTENTS = 5


@dataclass(frozen=True)
class IntentPrediction:
    """The classifier's verdict on one text."""

    intent: str
    confidence: float
    is_low_confidence: bool
    ranking: list[tuple[str, float]]
    model_version: str

    def as_dict(self) -> dict:
        return {
            "intent": self.intent,
            "confidence": self.confidence,
            "is_low_confidence": self.is_low_confidence,
            "ranking": [{"intent": name, "confidence": score} for name, score in self.ranking],
            "model_version": self.model_version,
        }


class IntentClassifier:
    """A trained model loaded for inference: calibrated confidences and a rejection threshold."""

    def __init__(self, directory: Path, threads: int = 1) -> None:
        import onnxruntime
        from tokenizers import Tokenizer

        self.metadata = json.loads((directory / "metadata.json").read_text())
        self.version = self.metadata["version"]
        self.labels: list[str] = self.metadata["labels"]
        self.temperature: float = self.metadata["calibration"]["temperature"]
        self.threshold: float = self.metadata["calibration"]["threshold"]
        self.tokenizer = Tokenizer.from_file(str(directory / "tokenizer.json"))
        # The saved tokenizer may carry the training-time padding; rows are padded here instead.
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(self.metadata["settings"]["max_length"])
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        self.session = onnxruntime.InferenceSession(
            str(directory / "model.onnx"), options, providers=["CPUExecutionProvider"]
        )

    def logits(self, texts: list[str]) -> np.ndarray:
        """Return the raw logits for a batch of texts."""
        encodings = self.tokenizer.encode_batch(texts)
        width = max(len(encoding.ids) for encoding in encodings)
        input_ids = np.zeros((len(texts), width), dtype=np.int64)
        attention_mask = np.zeros((len(texts), width), dtype=np.int64)
        for row, encoding in enumerate(encodings):
            input_ids[row, : len(encoding.ids)] = encoding.ids
            attention_mask[row, : len(encoding.ids)] = 1
        (logits,) = self.session.run(
            None, {"input_ids": input_ids, "attention_mask": attention_mask}
        )
        return logits

    def classify(self, texts: list[str]) -> list[IntentPrediction]:
        """Return the top intents of each text with calibrated confidences."""
        if not texts:
            return []
        probabilities = softmax(self.logits(texts) / self.temperature)
        predictions = []
        for row in probabilities:
            top = np.argsort(-row)[:TOP_INTENTS]
            ranking = [(self.labels[i], round(float(row[i]), 4)) for i in top]
            confidence = float(row[top[0]])
            predictions.append(
                IntentPrediction(
                    intent=ranking[0][0],
                    confidence=round(confidence, 4),
                    is_low_confidence=confidence < self.threshold,
                    ranking=ranking,
                    model_version=self.version,
                )
            )
        return predictions


def softmax(logits: np.ndarray) -> np.ndarray:
    """Return row-wise probabilities, computed stably."""
    shifted = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return shifted / shifted.sum(axis=-1, keepdims=True)


_loaded: dict[str, IntentClassifier] = {}
_loading = threading.Lock()


def promoted_classifier(threads: int = 1) -> IntentClassifier | None:
    """Return the promoted model: loaded once per process, again when another is promoted."""
    version = artefacts.promoted_version()
    if version is None:
        return None
    with _loading:
        if version not in _loaded:
            _loaded.clear()
            _loaded[version] = IntentClassifier(artefacts.models_root() / version, threads)
        return _loaded[version]
