"""Choose how a trained model refuses messages: which score, which rule, which threshold.

Every detector of `out_of_scope` is measured on the validation split: how well it separates
in-scope questions from unknown ones (AUROC), how well it separates right guesses from wrong
ones (AUROC), and what its threshold under the operating point does. The detector with the best
mean of the two AUROCs serves, unless one is asked for. The scores are stored with the model
(`validation_scores.npz`), so any rule can be replayed later without retraining.
"""

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from chatbot.nlu.evaluation import auroc, evaluate_predictions
from chatbot.nlu.operating_points import ValidationScores, outcome_at, threshold_for
from chatbot.nlu.out_of_scope import (
    DETECTORS,
    Head,
    Reference,
    scope_scores,
    standardisation_of,
)

SCORES_FILE = "validation_scores.npz"
REAL_UNKNOWNS = "the out-of-scope examples"
STAND_IN_UNKNOWNS = "the validation questions with their own intent taken away"


@dataclass
class ScopeChoice:
    """What decides a refusal, and the validation figures behind the choice."""

    detector: str
    rule: str
    threshold: float
    standardisation: dict
    unknowns: str
    table: dict = field(default_factory=dict)
    scores: dict[str, ValidationScores] = field(default_factory=dict)

    def as_metadata(self) -> dict:
        return {
            "detector": self.detector,
            "rule": self.rule,
            "threshold": round(self.threshold, 6),
            "unknowns": self.unknowns,
            "standardisation": self.standardisation,
            "chosen_by": "the best mean of unknown-question AUROC and wrong-guess AUROC",
            "detectors": self.table,
        }


def choose_scope(
    in_scope_vectors: np.ndarray,
    truth: np.ndarray,
    out_of_scope_vectors: np.ndarray,
    head: Head,
    temperature: float,
    reference: Reference,
    rule: str,
    threshold: float | None = None,
    detector: str | None = None,
) -> ScopeChoice:
    """Measure every detector on validation and return the one to serve with its threshold.

    Args:
        in_scope_vectors, truth: the in-scope validation questions' unit vectors and intents.
        out_of_scope_vectors: the out-of-scope examples' unit vectors (may have no rows).
        head, temperature, reference: the trained model's parts the scores need.
        rule: the operating point (`operating_points.RULES`), unless `threshold` is given.
        threshold: an explicit threshold on `detector`'s score (`probability` by default).
        detector: the score to serve, instead of the best one on validation.
    """
    plain = scope_scores(in_scope_vectors, head, temperature, reference, detectors=DETECTORS[:-1])
    standardisation = standardisation_of(plain)
    in_scope = scope_scores(in_scope_vectors, head, temperature, reference, standardisation)
    out_of_scope = scope_scores(out_of_scope_vectors, head, temperature, reference, standardisation)
    has_real_unknowns = len(out_of_scope_vectors) > 0
    unknown = (
        out_of_scope
        if has_real_unknowns
        else scope_scores(
            in_scope_vectors, head, temperature, reference, standardisation, exclude=truth
        )
    )
    is_right = (head.logits(in_scope_vectors).argmax(axis=-1) == truth) if len(truth) else truth
    scores = {
        name: ValidationScores(in_scope[name], is_right, out_of_scope[name], unknown[name])
        for name in in_scope
    }
    table = {}
    for name, validation in scores.items():
        chosen = threshold_for(rule, validation)
        table[name] = {
            "unknown_auroc": auroc(validation.in_scope, validation.unknown),
            "errors_auroc": auroc(validation.in_scope[is_right], validation.in_scope[~is_right]),
            "threshold": round(chosen, 6),
            **outcome_at(chosen, validation),
        }
    if threshold is not None:
        detector = detector or "probability"
    elif detector is None:
        detector = max(table, key=lambda name: _separation(table[name]))
    if detector not in scores:
        raise ValueError(f"unknown detector {detector!r}: choose one of {', '.join(scores)}")
    return ScopeChoice(
        detector=detector,
        rule="explicit" if threshold is not None else rule,
        threshold=threshold if threshold is not None else table[detector]["threshold"],
        standardisation=standardisation,
        unknowns=REAL_UNKNOWNS if has_real_unknowns else STAND_IN_UNKNOWNS,
        table=table,
        scores=scores,
    )


def _separation(row: dict) -> float:
    values = [row[key] for key in ("unknown_auroc", "errors_auroc") if row[key] is not None]
    return sum(values) / len(values) if values else 0.0


def save_scores(
    directory: Path,
    scores: dict[str, ValidationScores],
    truth: list[str],
    predicted: list[str],
) -> None:
    """Store every detector's validation scores next to the model, with the right intents and
    the guesses (in-scope questions first, then out-of-scope examples)."""
    arrays = {"truth": np.array(truth, dtype=str), "predicted": np.array(predicted, dtype=str)}
    for name, validation in scores.items():
        arrays[f"{name}.in_scope"] = validation.in_scope
        arrays[f"{name}.out_of_scope"] = validation.out_of_scope
        arrays[f"{name}.unknown"] = validation.unknown
    # Every detector judges the same guesses.
    arrays["is_right"] = next(iter(scores.values())).is_right
    np.savez_compressed(directory / SCORES_FILE, **arrays)


def load_scores(directory: Path, detector: str) -> ValidationScores:
    """Return one detector's stored validation scores, to replay a rule on them."""
    path = directory / SCORES_FILE
    if not path.exists():
        raise FileNotFoundError(
            f"{directory.name} stores no validation scores (trained before operating points): "
            "retrain it to replay rules"
        )
    with np.load(path) as stored:
        if f"{detector}.in_scope" not in stored:
            raise ValueError(f"{directory.name} stores no scores for the detector {detector!r}")
        return ValidationScores(
            in_scope=stored[f"{detector}.in_scope"],
            is_right=stored["is_right"].astype(bool),
            out_of_scope=stored[f"{detector}.out_of_scope"],
            unknown=stored[f"{detector}.unknown"],
        )


def validation_report_at(
    directory: Path, detector: str, threshold: float, out_of_scope_label: str | None
) -> dict:
    """Return the validation report (`evaluate_predictions`) of a stored model at a point."""
    scores = load_scores(directory, detector)
    with np.load(directory / SCORES_FILE) as stored:
        truth, predicted = stored["truth"].tolist(), stored["predicted"].tolist()
    values = np.concatenate([scores.in_scope, scores.out_of_scope])
    return evaluate_predictions(
        truth,
        predicted,
        rejected=list(values < threshold),
        out_of_scope_label=out_of_scope_label,
        scores=list(values),
    )


def rescoped(
    metadata: dict,
    directory: Path,
    rule: str | None,
    threshold: float | None = None,
    detector: str | None = None,
) -> dict:
    """Return `metadata` with a new operating point, replayed on its stored validation scores."""
    if metadata.get("format", 1) < 2:
        raise ValueError(f"{directory.name} predates operating points: retrain it first")
    scope = dict(metadata["scope"])
    detector = detector or ("probability" if threshold is not None else scope["detector"])
    if threshold is None:
        threshold = threshold_for(rule, load_scores(directory, detector))
        scope["rule"] = rule
    else:
        load_scores(directory, detector)
        scope["rule"] = "explicit"
    scope["detector"], scope["threshold"] = detector, round(float(threshold), 6)
    report = validation_report_at(
        directory, detector, scope["threshold"], metadata["out_of_scope_label"]
    )
    return {**metadata, "scope": scope, "validation": report}
