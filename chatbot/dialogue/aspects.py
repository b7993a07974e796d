"""What a follow-up asks about a topic (how long, how much, why, how far), and the sentences of
an answer that say it.

Plain Python. "How long does that take?" after a question about card delivery wants the
delivery time, not the whole answer again.
"""

from __future__ import annotations

import re

# What the visitor's words ask about.
ASKS = {
    "duration": re.compile(
        r"\b(how long|how many (?:days|hours|weeks)|how (?:quick|quickly|soon|fast)|when)\b",
        re.IGNORECASE,
    ),
    "cost": re.compile(
        # "pay for it", not "Google Pay".
        r"\b(fees?|costs?|charges?|charged|price|pay (?:for|anything|extra|more)|paid|free|"
        r"how much(?! can))\b",
        re.IGNORECASE,
    ),
    "reason": re.compile(r"(^\s*(?:but\s+)?why\b|\bhow come\b|\breason\b)", re.IGNORECASE),
    "limit": re.compile(
        r"\b(limits?|maximum|minimum|most|least|how much can|up to)\b", re.IGNORECASE
    ),
}
# What an answer's sentences say that answers each.
SAYS = {
    "duration": re.compile(
        r"\b(\d+\s*(?:working\s+)?(?:days?|hours?|minutes?|weeks?)|instant\w*|straight away|"
        r"immediately|same day|next day|within)\b",
        re.IGNORECASE,
    ),
    # A price alone ("a limit of £500") is not a cost: the sentence must say it is charged.
    "cost": re.compile(r"\b(fees?|free|charged?|charges|costs?|surcharge|markup)\b", re.IGNORECASE),
    "reason": re.compile(
        r"\b(because|so that|to protect|in case|required|law|reasons?|means|as)\b", re.IGNORECASE
    ),
    "limit": re.compile(r"\b(limit\w*|maximum|minimum|up to|at most|at least)\b", re.IGNORECASE),
}
SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z£€$0-9])")


def asked_aspect(text: str) -> str | None:
    """Return what the message asks about a topic, if it is one of the known aspects."""
    return next((name for name, pattern in ASKS.items() if pattern.search(text)), None)


def sentences_saying(text: str, aspect: str) -> list[str]:
    """Return the sentences of a text that speak to the aspect, in order."""
    return [s for s in SENTENCE_END.split(text) if SAYS[aspect].search(s)]


def first_sentence(text: str) -> str:
    return SENTENCE_END.split(text, maxsplit=1)[0]
