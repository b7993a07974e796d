"""Fast mode's intent directions, trained in numpy on frozen vectors."""

import numpy as np

from chatbot.nlu.head_training import (
    COSINE_SCALE,
    centroid_directions,
    fit_directions,
    loss_and_gradient,
)
from chatbot.nlu.out_of_scope import unit


def test_the_loss_on_a_hand_computed_case():
    # One vector on the first of two orthogonal directions: cosines 1 and 0.
    weights = np.array([[2.0, 0.0], [0.0, 3.0]])
    vectors = np.array([[1.0, 0.0]])
    wanted = np.array([[1.0, 0.0]])

    loss, _ = loss_and_gradient(weights, vectors, wanted)

    assert np.isclose(loss, np.log(1 + np.exp(-COSINE_SCALE)))


def test_the_gradient_matches_finite_differences():
    generator = np.random.default_rng(3)
    weights = generator.normal(size=(4, 6))
    vectors = unit(generator.normal(size=(9, 6)))
    wanted = np.full((9, 4), 0.025)
    wanted[np.arange(9), generator.integers(0, 4, 9)] += 0.9

    _, gradient = loss_and_gradient(weights, vectors, wanted)

    step = 1e-6
    numeric = np.zeros_like(weights)
    for index in np.ndindex(weights.shape):
        shifted = weights.copy()
        shifted[index] += step
        above, _ = loss_and_gradient(shifted, vectors, wanted)
        shifted[index] -= 2 * step
        below, _ = loss_and_gradient(shifted, vectors, wanted)
        numeric[index] = (above - below) / (2 * step)
    assert np.allclose(gradient, numeric, atol=1e-6)


def test_centroids_are_the_unit_mean_of_each_intent():
    vectors = np.array([[2.0, 0.0], [0.0, 1.0], [0.0, -3.0], [0.0, 5.0]])
    targets = np.array([0, 0, 1, 1])

    directions = centroid_directions(vectors, targets, 2)

    # Intent 0: (1, 0) + (0, 1), normalised; intent 1: (0, -1) + (0, 1) is zero and stays so.
    assert np.allclose(directions[0], [np.sqrt(0.5), np.sqrt(0.5)])
    assert np.allclose(directions[1], [0.0, 0.0])


def overlapping_intents(seed: int, count: int) -> tuple[np.ndarray, np.ndarray]:
    """Three intents around nearby centres in 8 dimensions, noisy enough to overlap."""
    generator = np.random.default_rng(seed)
    centres = unit(np.eye(3, 8) + 0.6)
    targets = generator.integers(0, 3, count)
    return unit(centres[targets] + generator.normal(scale=0.12, size=(count, 8))), targets


def test_training_improves_on_the_directions_it_starts_from():
    vectors, targets = overlapping_intents(1, 600)
    held_out, held_out_targets = overlapping_intents(2, 300)
    start = unit(np.random.default_rng(4).normal(size=(3, 8)))

    fitted = fit_directions(
        vectors, targets, held_out, held_out_targets, start, 100, 0.01, 0.1, seed=5
    )

    before = ((held_out @ start.T).argmax(axis=1) == held_out_targets).mean()
    after = ((held_out @ fitted.directions.T).argmax(axis=1) == held_out_targets).mean()
    assert after > before
    assert fitted.validation_accuracy == after
    assert np.allclose(np.linalg.norm(fitted.directions, axis=1), 1.0)


def test_a_start_better_than_any_step_is_kept():
    vectors, targets = overlapping_intents(1, 300)
    held_out, held_out_targets = overlapping_intents(2, 200)
    # Directions that fit the held-out set; a huge learning rate wrecks every step after them.
    best = centroid_directions(held_out, held_out_targets, 3)

    fitted = fit_directions(
        vectors, targets, held_out, held_out_targets, best, 10, 50.0, 0.1, seed=5
    )

    assert fitted.step == 0
    assert np.allclose(fitted.directions, best)
