"""Serve a trained intent model with ONNX Runtime: tokenizer and network, no torch."""

import json
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from chatbot.nlu import artefacts
from chatbot.nlu.out_of_scope import DETECTORS, Head, Reference, scope_scores, softmax, unit

TOP_INTENTS = 5
# The graph's metadata property that says how its weights are quantized (`onnx_export`).
QUANTIZATION_PROPERTY = "quantization"
DYNAMIC_INT8 = "dynamic int8"


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


class SentenceEncoderSession:
    """A model's ONNX graph and tokenizer: texts in, one row per text out.

    A graph with dynamically quantized (int8) weights runs each text alone: it scales each
    call's activations by their range over the whole input, so in a batch one text's vector
    would depend on the others, and the same message could get another answer.
    """

    def __init__(
        self, directory: Path, max_length: int, threads: int = 1, model_file: str = "model.onnx"
    ) -> None:
        import onnxruntime
        from tokenizers import Tokenizer

        self.tokenizer = Tokenizer.from_file(str(directory / "tokenizer.json"))
        # The saved tokenizer may carry the training-time padding; rows are padded here instead.
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(max_length)
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        self.session = onnxruntime.InferenceSession(
            str(directory / model_file), options, providers=["CPUExecutionProvider"]
        )
        properties = self.session.get_modelmeta().custom_metadata_map
        self.runs_texts_alone = properties.get(QUANTIZATION_PROPERTY) == DYNAMIC_INT8

    def vectors(self, texts: list[str]) -> np.ndarray:
        """Return the graph's output for a batch of texts (see the class on quantized graphs)."""
        if self.runs_texts_alone and len(texts) > 1:
            return np.concatenate([self._run([text]) for text in texts])
        return self._run(texts)

    def _run(self, texts: list[str]) -> np.ndarray:
        """Run the graph once on texts padded to the longest."""
        encodings = self.tokenizer.encode_batch(texts)
        width = max(len(encoding.ids) for encoding in encodings)
        input_ids = np.zeros((len(texts), width), dtype=np.int64)
        attention_mask = np.zeros((len(texts), width), dtype=np.int64)
        for row, encoding in enumerate(encodings):
            input_ids[row, : len(encoding.ids)] = encoding.ids
            attention_mask[row, : len(encoding.ids)] = 1
        (output,) = self.session.run(
            None, {"input_ids": input_ids, "attention_mask": attention_mask}
        )
        return output


class IntentClassifier:
    """A trained model loaded for inference: calibrated confidences and a rejection rule.

    A message is refused (`is_low_confidence`) when the model's chosen out-of-scope score is
    below its threshold (`out_of_scope`, `operating_points`). Models of format 1 give logits
    from their graph and refuse by the top probability alone.
    """

    def __init__(self, directory: Path, threads: int = 1) -> None:
        self.directory = directory
        self.metadata = json.loads((directory / "metadata.json").read_text())
        self.version = self.metadata["version"]
        self.labels: list[str] = self.metadata["labels"]
        self.temperature: float = self.metadata["calibration"]["temperature"]
        self.format = self.metadata.get("format", 1)
        self.encoder = self.metadata.get("encoder")
        self.session = SentenceEncoderSession(
            directory, self.metadata["settings"]["max_length"], threads
        )
        self.head: Head | None = None
        self.reference: Reference | None = None
        self.standardisation: dict = {}
        if self.format >= 2:
            self.head = Head(
                np.load(directory / artefacts.HEAD_FILE), self.metadata["head"]["scale"]
            )
            with np.load(directory / artefacts.REFERENCE_FILE) as stored:
                self.reference = Reference(
                    stored["vectors"].astype(np.float32),
                    stored["labels"],
                    # Absent from models stored before the Mahalanobis score.
                    stored.get("whitening"),
                    stored.get("whitened_means"),
                )
            scope = self.metadata["scope"]
            self.detector, self.threshold = scope["detector"], scope["threshold"]
            self.standardisation = scope["standardisation"]
        else:
            self.detector = "probability"
            self.threshold = self.metadata["calibration"]["threshold"]

    def unit_vectors(self, texts: list[str]) -> np.ndarray:
        """Return the sentences' unit vectors (models of format 2)."""
        return unit(self.session.vectors(texts))

    def logits(self, texts: list[str]) -> np.ndarray:
        """Return the raw logits for a batch of texts."""
        if self.head is None:
            return self.session.vectors(texts)
        return self.head.logits(self.unit_vectors(texts))

    def scope_scores(self, texts: list[str], detectors: Sequence[str] = DETECTORS) -> dict:
        """Return each detector's in-scope score per text, and the logits under "logits"."""
        if self.head is None:
            logits = self.logits(texts)
            return {
                "logits": logits,
                "probability": softmax(logits / self.temperature).max(axis=-1),
            }
        vectors = self.unit_vectors(texts)
        scores = scope_scores(
            vectors,
            self.head,
            self.temperature,
            self.reference,
            self.standardisation,
            detectors=detectors,
        )
        return {"logits": self.head.logits(vectors), **scores}

    def classify(self, texts: list[str]) -> list[IntentPrediction]:
        """Return the top intents of each text with calibrated confidences."""
        if not texts:
            return []
        scores = self.scope_scores(texts, (self.detector,))
        probabilities = softmax(scores["logits"] / self.temperature)
        predictions = []
        for row, scope_score in zip(probabilities, scores[self.detector], strict=True):
            top = np.argsort(-row)[:TOP_INTENTS]
            ranking = [(self.labels[i], round(float(row[i]), 4)) for i in top]
            predictions.append(
                IntentPrediction(
                    intent=ranking[0][0],
                    confidence=ranking[0][1],
                    is_low_confidence=bool(scope_score < self.threshold),
                    ranking=ranking,
                    model_version=self.version,
                )
            )
        return predictions


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
