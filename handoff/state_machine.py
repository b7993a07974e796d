"""Who owns a conversation, and the moves allowed between owners. Plain Python."""

BOT, WAITING, AGENT, CLOSED = "bot", "waiting", "agent", "closed"

ALLOWED = {
    (BOT, WAITING),  # escalated
    (WAITING, AGENT),  # an agent accepted
    (WAITING, BOT),  # the visitor cancelled, or nobody could take it
    (AGENT, WAITING),  # transferred to a skill's queue
    (AGENT, BOT),  # handed back
    (AGENT, CLOSED),
    (WAITING, CLOSED),
    (BOT, CLOSED),
}


class TransitionNotAllowed(Exception):
    """A move the state machine does not allow; nothing changed."""


def check_transition(current: str, new: str) -> None:
    """Raise TransitionNotAllowed unless a conversation may go from `current` to `new`."""
    if (current, new) not in ALLOWED:
        raise TransitionNotAllowed(f"a conversation cannot go from {current} to {new}")


def bot_may_answer(owner: str) -> bool:
    """Return whether the bot answers the visitor now: only while it owns the conversation."""
    return owner == BOT
