"""When a conversation should go to a person, and why: a dialogue decision, in plain Python.

The policy asks `escalation_reason` after deciding its reply and returns "escalate for reason R";
the turn then calls the handoff, which records the reason. The thresholds are passed in.
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
    asks_for_person: bool | None = None,
    possible_intents: tuple[str, ...] = (),
) -> str | None:
    """Return why this turn should go to a person, or None to let the bot carry on.

    `asks_for_person` is the caller's reading of the message as a request for a person (None:
    whether it asks in so many words); `possible_intents` are the intents an unsure turn could
    well mean: a sensitive one among them is escalated as if it were sure. The first reason
    that holds is the turn's reason; it escalates only if its trigger is on.
    """
    if not rules.is_enabled:
        return None
    is_sensitive = (is_confident and intent in rules.sensitive_intents) or any(
        candidate in rules.sensitive_intents for candidate in possible_intents
    )
    if asks_for_person is None:
        asks_for_person = is_explicit_request(text)
    if asks_for_person:
        reason = "requested"
    elif is_sensitive and not decision.startswith("flow"):
        reason = "sensitive_intent"
    elif frustration >= rules.frustration:
        reason = "frustration"
    elif decision in rules.unclear_decisions and unclear_streak >= rules.unclear_turns:
        reason = "low_confidence"
    elif flow_retries >= rules.flow_retries:
        reason = "failed_flow"
    elif is_repeat and decision not in ("greeting", "thanks", "goodbye"):
        reason = "repeated_question"
    else:
        return None
    return reason if reason in rules.triggers else None
