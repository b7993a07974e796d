"""Train the intent directions on frozen sentence vectors, in numpy.

Fast mode's whole model is these directions: one unit vector per intent, scored by the cosine
with a sentence's vector times `COSINE_SCALE`. Training them needs no torch, so a retrain whose
vectors are all cached never imports it (about a second and a half saved per run).

The loss is cross-entropy with label smoothing on the scaled cosines, with dropout on the input
vectors, minimised by Adam on the whole training set at once; the step with the best validation
accuracy wins. A retrain can start from the served model's directions (`initial`) and needs
far fewer steps.
"""

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from chatbot.nlu.out_of_scope import unit

# Cosine similarities lie in [-1, 1]; a fixed scale gives the softmax room to be confident.
COSINE_SCALE = 30.0
DROPOUT = 0.1
_BETAS = (0.9, 0.999)
_EPSILON = 1e-8


@dataclass
class FittedDirections:
    """The directions with the best validation accuracy, that accuracy and the step it came at."""

    directions: np.ndarray
    validation_accuracy: float
    step: int


def centroid_directions(vectors: np.ndarray, targets: np.ndarray, count: int) -> np.ndarray:
    """Return each intent's mean unit vector, as a unit row: where training starts cold."""
    sums = np.zeros((count, vectors.shape[1]), dtype=np.float32)
    np.add.at(sums, targets, unit(vectors))
    return unit(sums)


def fit_directions(
    vectors: np.ndarray,
    targets: np.ndarray,
    validation_vectors: np.ndarray,
    validation_targets: np.ndarray,
    initial: np.ndarray,
    steps: int,
    learning_rate: float,
    label_smoothing: float,
    seed: int,
    evaluate_every: int = 25,
    on_step: Callable[[], None] | None = None,
) -> FittedDirections:
    """Minimise the smoothed cross-entropy from `initial`; keep the best step on validation.

    The starting directions are a candidate too (step 0), so a warm start never ends worse on
    validation than the model it started from.
    """
    generator = np.random.default_rng(seed)
    vectors = np.asarray(vectors, dtype=np.float32)
    count = initial.shape[0]
    weights = np.array(initial, dtype=np.float32)
    wanted = np.full((len(targets), count), label_smoothing / count, dtype=np.float32)
    wanted[np.arange(len(targets)), targets] += 1.0 - label_smoothing
    first_moment = np.zeros_like(weights)
    second_moment = np.zeros_like(weights)
    best = FittedDirections(
        unit(weights), _accuracy(weights, validation_vectors, validation_targets), 0
    )
    for step in range(1, steps + 1):
        kept = generator.random(vectors.shape, dtype=np.float32) >= DROPOUT
        # Dropout's 1/(1-p) rescaling is left out: the vectors are normalised next anyway.
        _, gradient = loss_and_gradient(weights, unit(vectors * kept), wanted)
        first_moment = _BETAS[0] * first_moment + (1 - _BETAS[0]) * gradient
        second_moment = _BETAS[1] * second_moment + (1 - _BETAS[1]) * gradient * gradient
        corrected_first = first_moment / (1 - _BETAS[0] ** step)
        corrected_second = second_moment / (1 - _BETAS[1] ** step)
        weights -= learning_rate * corrected_first / (np.sqrt(corrected_second) + _EPSILON)
        if step % evaluate_every == 0 or step == steps:
            accuracy = _accuracy(weights, validation_vectors, validation_targets)
            # On a tie the later step wins: it has gone further down the loss.
            if accuracy >= best.validation_accuracy:
                best = FittedDirections(unit(weights), accuracy, step)
        if on_step is not None:
            on_step()
    return best


def loss_and_gradient(
    weights: np.ndarray, unit_vectors: np.ndarray, wanted: np.ndarray
) -> tuple[float, np.ndarray]:
    """Return the mean cross-entropy against `wanted` (rows of target probabilities) of the
    scaled cosines between `unit_vectors` and the normalised rows of `weights`, and its gradient
    with respect to `weights`."""
    norms = np.linalg.norm(weights, axis=1, keepdims=True)
    directions = weights / norms
    logits = COSINE_SCALE * unit_vectors @ directions.T
    logits -= logits.max(axis=1, keepdims=True)
    log_probabilities = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    loss = float(-(wanted * log_probabilities).sum(axis=1).mean())
    logit_gradient = (np.exp(log_probabilities) - wanted) / len(unit_vectors)
    direction_gradient = COSINE_SCALE * logit_gradient.T @ unit_vectors
    # Through the normalisation of each row: only the part across the direction counts.
    gradient = (
        direction_gradient
        - directions * (direction_gradient * directions).sum(axis=1, keepdims=True)
    ) / norms
    return loss, gradient


def _accuracy(weights: np.ndarray, vectors: np.ndarray, targets: np.ndarray) -> float:
    if len(targets) == 0:
        return 0.0
    # The model scores by cosine: rows of different lengths must not weigh differently.
    return float(((vectors @ unit(weights).T).argmax(axis=1) == targets).mean())
