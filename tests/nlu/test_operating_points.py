"""Operating points and out-of-scope scores on small, hand-computed cases."""

import numpy as np
import pytest

from chatbot.nlu.operating_points import ValidationScores, outcome_at, threshold_for
from chatbot.nlu.out_of_scope import Head, Reference, scope_scores, standardisation_of, unit


def scores(in_scope, is_right, unknown=(), out_of_scope=()) -> ValidationScores:
    return ValidationScores(
        in_scope=np.array(in_scope, dtype=float),
        is_right=np.array(is_right, dtype=bool),
        out_of_scope=np.array(out_of_scope, dtype=float),
        unknown=np.array(unknown, dtype=float),
    )


# Right guesses score 0.9, 0.8, 0.6, 0.4; wrong ones 0.5, 0.3. Stand-in unknowns 0.7, 0.2, 0.1.
VALIDATION = scores(
    [0.9, 0.8, 0.6, 0.5, 0.4, 0.3],
    [True, True, True, False, True, False],
    unknown=[0.7, 0.2, 0.1],
)


def test_open_refuses_only_what_costs_less_refused_than_answered():
    # Refusing below 0.4 costs 1 (the wrong 0.3); below 0.5 or 0.6 also 1 (0.4 refused, 0.5
    # answered / refused); the lowest of the cheapest is 0.4. Unknowns weigh nothing.
    assert threshold_for("open", VALIDATION) == 0.4
    assert outcome_at(0.4, VALIDATION) == {
        "coverage": round(5 / 6, 6),
        "accuracy_rejections_wrong": round(4 / 6, 6),
        "accepted_accuracy": 0.8,
        "unknown_refused": round(2 / 3, 6),
    }


def test_open_counts_an_answered_out_of_scope_example_as_a_wrong_answer():
    with_out_of_scope = scores(
        [0.9, 0.8, 0.6, 0.5, 0.4, 0.3],
        [True, True, True, False, True, False],
        unknown=[0.45, 0.42, 0.41],
        out_of_scope=[0.45, 0.42, 0.41],
    )

    # At 0.4 the three out-of-scope examples would be answered (cost 1 + 3); at 0.5 the wrong
    # 0.5 is answered (cost 2); at 0.6 only the right 0.4 is refused (cost 1).
    assert threshold_for("open", with_out_of_scope) == 0.6


def test_balanced_weighs_the_unknowns_as_much_as_the_in_scope_questions():
    # Cost: in-scope mistakes / 6 + unknowns answered / 3. At 0.4: 1/6 + 1/3; at 0.6: 1/6 (0.4
    # refused) + 1/3 (0.7 answered); at 0.7: 2/6 + 1/3; at 0.8: 2/6 + 0, the cheapest.
    assert threshold_for("balanced", VALIDATION) == 0.8


def test_precise_takes_the_lowest_threshold_whose_answers_are_right_often_enough():
    # Answered at 0.6: 0.9, 0.8, 0.6, all right (precision 1.0); at 0.5: 3 of 4.
    assert threshold_for("precise", VALIDATION) == 0.6


def test_a_rule_that_cannot_be_met_refuses_everything_and_an_unknown_rule_is_refused():
    all_wrong = scores([0.9, 0.8], [False, False])

    assert threshold_for("precise", all_wrong) > 0.9
    with pytest.raises(ValueError, match="unknown operating point"):
        threshold_for("generous", VALIDATION)


HEAD = Head(directions=np.array([[1.0, 0.0], [0.0, 1.0]]), scale=10.0)


def test_each_score_of_a_sentence_by_hand():
    vector = unit(np.array([[3.0, 4.0]]))  # cosines 0.6 and 0.8; logits 6 and 8
    reference = Reference(unit(np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])), np.array([0, 1, 1]))

    got = scope_scores(vector, HEAD, temperature=2.0, reference=reference)

    # Softmax of (3, 4): e^4 / (e^3 + e^4).
    assert got["probability"][0] == pytest.approx(np.exp(4) / (np.exp(3) + np.exp(4)))
    assert got["similarity"][0] == pytest.approx(0.8)
    # Temperature times log-sum-exp of logits / temperature: 2 * log(e^3 + e^4).
    assert got["energy"][0] == pytest.approx(2 * np.log(np.exp(3) + np.exp(4)))
    # Three references, fewer than ten neighbours: the mean of 0.6, 0.8 and 0.98995.
    assert got["neighbours"][0] == pytest.approx((0.6 + 0.8 + 7 / np.sqrt(50)) / 3)
    assert "combined" not in got


def test_taking_a_sentences_own_intent_away_scores_it_as_an_unknown():
    vector = unit(np.array([[3.0, 4.0]]))
    reference = Reference(unit(np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])), np.array([0, 1, 1]))

    got = scope_scores(vector, HEAD, 2.0, reference, exclude=[1])

    # Only intent 0 is left: its probability is one, its cosine 0.6, the neighbours its own.
    assert got["probability"][0] == pytest.approx(1.0)
    assert got["similarity"][0] == pytest.approx(0.6)
    assert got["energy"][0] == pytest.approx(6.0)
    assert got["neighbours"][0] == pytest.approx(0.6)


def test_the_combined_score_averages_the_standardised_scores():
    vectors = unit(np.array([[3.0, 4.0], [1.0, 0.2], [0.5, 0.5]]))
    reference = Reference(unit(np.array([[1.0, 0.0], [0.0, 1.0]])), np.array([0, 1]))
    plain = scope_scores(vectors, HEAD, 1.0, reference, detectors=("probability", "similarity"))
    standardisation = standardisation_of(plain)

    got = scope_scores(vectors, HEAD, 1.0, reference, standardisation, detectors=("combined",))

    expected = np.mean(
        [
            (plain[name] - standardisation[name]["mean"]) / standardisation[name]["deviation"]
            for name in ("probability", "similarity")
        ],
        axis=0,
    )
    assert got["combined"] == pytest.approx(expected, abs=1e-5)
    assert standardisation["similarity"]["mean"] == pytest.approx(plain["similarity"].mean(), 1e-5)


def test_the_mahalanobis_score_measures_distance_in_the_intents_own_spread():
    # Two intents around (0, 0) and (10, 0), spread widely along y and hardly along x.
    offsets = np.array([[0.1, 3.0], [-0.1, -3.0], [0.1, -3.0], [-0.1, 3.0]])
    vectors = np.concatenate([offsets, offsets + [10.0, 0.0]])
    labels = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    reference = Reference.fitted(vectors, labels, label_count=2)
    head = Head(directions=np.eye(2), scale=1.0)
    # One unit away from intent 0's mean: along its wide spread, then across it.
    along, across = np.array([[0.0, 1.0]]), np.array([[1.0, 0.0]])

    score = {
        name: scope_scores(point, head, 1.0, reference, detectors=("mahalanobis",))["mahalanobis"][
            0
        ]
        for name, point in (("along", along), ("across", across), ("at", np.zeros((1, 2))))
    }
    without_own = scope_scores(
        np.zeros((1, 2)), head, 1.0, reference, exclude=[0], detectors=("mahalanobis",)
    )["mahalanobis"][0]

    assert score["at"] == pytest.approx(0.0, abs=1e-5)
    assert score["across"] < score["along"] < score["at"]
    # With its own intent taken away, the nearest mean is intent 1's, ten units across.
    assert without_own < score["across"]
