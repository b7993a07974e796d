"""Scores that say how likely a message belongs to one of the model's intents (higher: more).

Plain numpy, used by training (to measure and choose) and by serving (to decide). Each score
comes from the sentence's unit vector and the model's intent directions:

- `probability`: the calibrated softmax probability of the top intent;
- `similarity`: the cosine between the sentence and its nearest intent direction;
- `energy`: the temperature-scaled log-sum-exp of the logits (the negative free energy);
- `neighbours`: the mean cosine to the sentence's nearest training examples (a reference sample
  stored with the model);
- `mahalanobis`: minus the Mahalanobis distance to the nearest intent's mean, under one covariance
  shared by all intents (fitted on the reference sample, shrunk towards the identity);
- `combined`: the mean of the other scores, each standardised on the validation split.

Training has no questions of unknown intents. It stands each validation question in for one by
taking its own intent away: the scores it then gets (`exclude`) are those of a question about
something the model was never taught, phrased like the bank's customers phrase things.
"""

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

DETECTORS = ("probability", "similarity", "energy", "neighbours", "mahalanobis", "combined")
COMBINED_OF = ("probability", "similarity", "energy", "neighbours", "mahalanobis")
# How far the shared covariance is pulled towards a multiple of the identity: the reference
# sample holds a few thousand vectors for 384 dimensions.
SHRINKAGE = 0.1
NEIGHBOURS = 10
# Cosine far below anything a real neighbour scores; fills the places of excluded examples.
_FAR = -2.0


@dataclass
class Head:
    """The intent directions (unit rows) and the fixed scale that turns cosines into logits."""

    directions: np.ndarray
    scale: float

    def cosines(self, unit_vectors: np.ndarray) -> np.ndarray:
        return unit_vectors @ self.directions.T

    def logits(self, unit_vectors: np.ndarray) -> np.ndarray:
        return self.scale * self.cosines(unit_vectors)


@dataclass
class Reference:
    """A sample of training examples' unit vectors and their intents, for `neighbours`, and the
    whitened intent means for `mahalanobis` (None: not fitted)."""

    vectors: np.ndarray
    labels: np.ndarray
    whitening: np.ndarray | None = None
    whitened_means: np.ndarray | None = None

    @classmethod
    def fitted(cls, vectors: np.ndarray, labels: np.ndarray, label_count: int) -> "Reference":
        """Return the reference with its Gaussians fitted: one mean per intent, one covariance."""
        vectors = np.asarray(vectors, dtype=np.float64)
        means = np.zeros((label_count, vectors.shape[1]))
        for label in range(label_count):
            members = vectors[labels == label]
            if len(members):
                means[label] = members.mean(axis=0)
        centred = vectors - means[labels]
        covariance = centred.T @ centred / max(1, len(vectors) - 1)
        scale = np.trace(covariance) / covariance.shape[0]
        covariance = (1 - SHRINKAGE) * covariance + SHRINKAGE * scale * np.eye(len(covariance))
        # The inverse square root: distances become plain Euclidean ones after the transform.
        values, basis = np.linalg.eigh(covariance)
        whitening = (basis / np.sqrt(np.maximum(values, 1e-12))) @ basis.T
        return cls(
            vectors=np.asarray(vectors, dtype=np.float32),
            labels=labels,
            whitening=whitening.astype(np.float32),
            whitened_means=(means @ whitening).astype(np.float32),
        )


def unit(vectors: np.ndarray) -> np.ndarray:
    """Return the rows scaled to length one (a zero row stays zero)."""
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


def softmax(logits: np.ndarray) -> np.ndarray:
    """Return row-wise probabilities, computed stably."""
    shifted = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return shifted / shifted.sum(axis=-1, keepdims=True)


def scope_scores(
    unit_vectors: np.ndarray,
    head: Head,
    temperature: float,
    reference: Reference | None,
    standardisation: dict | None = None,
    exclude: Sequence[int] | None = None,
    detectors: Sequence[str] = DETECTORS,
) -> dict[str, np.ndarray]:
    """Return each detector's score per sentence.

    Args:
        unit_vectors: the sentences' unit vectors, one row each.
        head: the model's intent directions.
        temperature: the calibrated softmax temperature.
        reference: training examples' vectors for `neighbours` (None: no such score).
        standardisation: per detector, the validation mean and deviation `combined` uses.
        exclude: per sentence, an intent index to take away (its logit and its neighbours),
            to score the sentence as if its intent were unknown.
        detectors: which scores to compute.
    """
    cosines = head.cosines(unit_vectors)
    if exclude is not None:
        cosines = cosines.copy()
        cosines[np.arange(len(cosines)), np.asarray(exclude)] = -np.inf
    logits = head.scale * cosines
    wanted = set(detectors)
    if "combined" in wanted:
        wanted |= set(COMBINED_OF)
    scores: dict[str, np.ndarray] = {}
    if "probability" in wanted:
        scores["probability"] = softmax(logits / temperature).max(axis=-1)
    if "similarity" in wanted:
        scores["similarity"] = cosines.max(axis=-1)
    if "energy" in wanted:
        scaled = logits / temperature
        top = scaled.max(axis=-1, keepdims=True)
        scores["energy"] = temperature * (top[:, 0] + np.log(np.exp(scaled - top).sum(axis=-1)))
    if "neighbours" in wanted and reference is not None:
        scores["neighbours"] = _neighbour_similarity(unit_vectors, reference, exclude)
    if "mahalanobis" in wanted and reference is not None and reference.whitening is not None:
        scores["mahalanobis"] = _nearest_mean_closeness(unit_vectors, reference, exclude)
    if "combined" in wanted and standardisation:
        parts = [
            (scores[name] - standardisation[name]["mean"]) / standardisation[name]["deviation"]
            for name in COMBINED_OF
            if name in scores and name in standardisation
        ]
        scores["combined"] = np.mean(parts, axis=0)
    return {name: scores[name].astype(np.float64) for name in detectors if name in scores}


def _neighbour_similarity(
    unit_vectors: np.ndarray, reference: Reference, exclude: Sequence[int] | None
) -> np.ndarray:
    similarities = unit_vectors @ reference.vectors.T
    available = similarities.shape[1]
    if exclude is not None:
        excluded = reference.labels[None, :] == np.asarray(exclude)[:, None]
        similarities[excluded] = _FAR
        # Never average in the places of excluded examples.
        available -= int(excluded.sum(axis=1).max(initial=0))
    count = max(1, min(NEIGHBOURS, available))
    nearest = np.partition(similarities, similarities.shape[1] - count, axis=-1)[:, -count:]
    return nearest.mean(axis=-1)


def _nearest_mean_closeness(
    unit_vectors: np.ndarray, reference: Reference, exclude: Sequence[int] | None
) -> np.ndarray:
    whitened = unit_vectors @ reference.whitening
    means = reference.whitened_means
    distances = (
        (whitened**2).sum(axis=1, keepdims=True)
        - 2 * whitened @ means.T
        + (means**2).sum(axis=1)[None, :]
    )
    if exclude is not None:
        distances[np.arange(len(distances)), np.asarray(exclude)] = np.inf
    return -np.sqrt(np.maximum(distances.min(axis=1), 0.0))


def standardisation_of(scores: dict[str, np.ndarray]) -> dict:
    """Return each score's mean and deviation, to put them on one scale for `combined`."""
    return {
        name: {
            "mean": round(float(values.mean()), 6),
            "deviation": round(max(float(values.std()), 1e-3), 6),
        }
        for name, values in scores.items()
        if name in COMBINED_OF
    }
