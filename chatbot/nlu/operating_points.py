"""Operating points: named rules that turn validation scores into a rejection threshold.

A message whose score is below the threshold is flagged (`is_low_confidence`): the dialogue then
answers its best guess with the runners-up as buttons, asks which was meant, or says it is not
sure, instead of answering outright. The rules weigh the same three outcomes differently:

- `open`: a refused right guess costs as much as a wrong answer (or an answered out-of-scope
  example, when there are some): the threshold with the fewest of those on validation. Messages
  of unknown intents without examples weigh nothing.
- `balanced`: as `open`, and the unknown-intent questions (out-of-scope examples, or the
  validation questions with their own intent taken away) weigh as much, all together, as the
  in-scope ones: half the cost is answering what the bot was never taught.
- `precise`: the lowest threshold whose answered messages are right at least `PRECISION` of the
  time on validation (an answered out-of-scope example is a wrong answer).

The rules only need the validation scores the model stores, so any rule can be replayed on a
trained model without retraining (`evaluate_intents --operating-point`).
"""

from dataclasses import dataclass

import numpy as np

RULES = ("open", "balanced", "precise")
# The rule under which the answer benchmark does best (docs/benchmarks.md, "Refusals counted
# honestly, operating points, unknown intents").
DEFAULT_RULE = "precise"
PRECISION = 0.97


@dataclass
class ValidationScores:
    """One detector's scores on validation.

    in_scope: the scores of in-scope validation questions; is_right: whether the model's top
    guess for each was right; out_of_scope: the scores of real out-of-scope examples (may be
    empty); unknown: the scores standing in for unknown intents (the out-of-scope examples if
    there are any, else each validation question with its own intent taken away).
    """

    in_scope: np.ndarray
    is_right: np.ndarray
    out_of_scope: np.ndarray
    unknown: np.ndarray


def threshold_for(rule: str, scores: ValidationScores) -> float:
    """Return the threshold `rule` chooses on `scores` (accepted: score >= threshold)."""
    if rule not in RULES:
        raise ValueError(f"unknown operating point {rule!r}: choose one of {', '.join(RULES)}")
    candidates = np.unique(np.concatenate([scores.in_scope, scores.out_of_scope, scores.unknown]))
    # Also a threshold below everything: accept all.
    candidates = np.concatenate([[candidates[0] - 1.0], candidates]) if len(candidates) else [0.0]
    if rule == "precise":
        return _precise(scores, candidates)
    right = np.sort(scores.in_scope[scores.is_right])
    wrong = np.sort(scores.in_scope[~scores.is_right])
    out = np.sort(scores.out_of_scope)
    # For each candidate: right guesses refused, wrong guesses and out-of-scope answered.
    refused_right = np.searchsorted(right, candidates, side="left")
    answered_wrong = len(wrong) - np.searchsorted(wrong, candidates, side="left")
    answered_out = len(out) - np.searchsorted(out, candidates, side="left")
    if rule == "open":
        cost = (refused_right + answered_wrong + answered_out).astype(np.float64)
    else:
        unknown = np.sort(scores.unknown)
        answered_unknown = len(unknown) - np.searchsorted(unknown, candidates, side="left")
        cost = (refused_right + answered_wrong) / max(1, len(scores.in_scope)) + (
            answered_unknown / max(1, len(unknown))
        )
    # The lowest of the cheapest: refuse no more than the cost asks.
    return float(candidates[int(np.argmin(cost))])


def _precise(scores: ValidationScores, candidates: np.ndarray) -> float:
    for threshold in candidates:
        answered_right = (scores.in_scope[scores.is_right] >= threshold).sum()
        answered = (scores.in_scope >= threshold).sum() + (scores.out_of_scope >= threshold).sum()
        if answered and answered_right / answered >= PRECISION:
            return float(threshold)
    return float(candidates[-1]) + 1.0


def outcome_at(threshold: float, scores: ValidationScores) -> dict:
    """Return what a threshold does on validation: coverage, accuracy, unknowns refused."""
    accepted = scores.in_scope >= threshold
    n = max(1, len(scores.in_scope))
    figures = {
        "coverage": round(float(accepted.mean()) if len(accepted) else 0.0, 6),
        "accuracy_rejections_wrong": round(float((accepted & scores.is_right).sum() / n), 6),
        "accepted_accuracy": round(
            float((accepted & scores.is_right).sum() / max(1, accepted.sum())), 6
        ),
        "unknown_refused": round(
            float((scores.unknown < threshold).mean()) if len(scores.unknown) else 0.0, 6
        ),
    }
    if len(scores.out_of_scope):
        figures["out_of_scope_refused"] = round(float((scores.out_of_scope < threshold).mean()), 6)
    return figures
