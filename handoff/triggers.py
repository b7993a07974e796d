"""When to hand a conversation to a person, and why. Plain Python, thresholds passed in.

The policy asks `escalation_reason` after deciding its reply; the reason is recorded with the
handoff.
"""

import re
from dataclasses import dataclass, field

EXPLICIT_REQUEST = re.compile(
    r"\b(?:(?:talk|speak|chat)\s+(?:to|with)\s+(?:a\s+|an\s+|some|real\s+)*(?:human|person|agent|someone|"
    r"somebody|representative|operator|advisor|adviser)|(?:real|live)\s+(?:person|human|agent)|"
    r"human\s+(?:agent|being|please)|customer\s+service\s+(?:agent|representative)|operator\s+please)\b",
    re.IGNORECASE,
)


TRIGGERS = (
    "requested",
    "sensitive_intent",
    "frustration",
    "low_confidence",
    "failed_flow",
    "repeated_question",
)


@dataclass(frozen=True)
class EscalationRules:
    """The thresholds and lists that decide escalation (settings HANDOFF_*)."""

    unclear_turns: int = 3
    frustration: float = 0.7
    sensitive_intents: tuple[str, ...] = (
        "compromised_card",
        "card_payment_not_recognised",
        "cash_withdrawal_not_recognised",
        "direct_debit_payment_not_recognised",
    )
    flow_retries: int = 2
    is_enabled: bool = True
    # Which triggers escalate; the others are ignored.
    triggers: tuple[str, ...] = TRIGGERS
    unclear_decisions: tuple[str, ...] = field(default=("unsure", "out_of_scope", "not_caught"))


def is_explicit_request(text: str) -> bool:
    """Return whether the visitor asks for a person in so many words."""
    return bool(EXPLICIT_REQUEST.search(text))


def escalation_reason(
    rules: EscalationRules,
    *,
    text: str,
    decision: str,
    intent: str | None,
    is_confident: bool,
    unclear_streak: int,
    frustration: float,
    flow_retries: int,
    is_repeat: bool,
) -> str | None:
    """Return why this turn should go to a person, or None to let the bot carry on."""
    if not rules.is_enabled:
        return None
    reason = _first_reason(
        rules,
        text,
        decision,
        intent,
        is_confident,
        unclear_streak,
        frustration,
        flow_retries,
        is_repeat,
    )
    return reason if reason in rules.triggers else None


def _first_reason(
    rules,
    text,
    decision,
    intent,
    is_confident,
    unclear_streak,
    frustration,
    flow_retries,
    is_repeat,
) -> str | None:
    if is_explicit_request(text):
        return "requested"
    if is_confident and intent in rules.sensitive_intents and not decision.startswith("flow"):
        return "sensitive_intent"
    if frustration >= rules.frustration:
        return "frustration"
    if decision in rules.unclear_decisions and unclear_streak >= rules.unclear_turns:
        return "low_confidence"
    if flow_retries >= rules.flow_retries:
        return "failed_flow"
    if is_repeat and decision not in ("greeting", "thanks", "goodbye"):
        return "repeated_question"
    return None
