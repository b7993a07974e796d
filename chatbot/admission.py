"""Admission control: take on only the work this server can answer, and say when it cannot.

Measured, not guessed: the conversations this process is answering now (a visitor's message
accepted and not yet answered) and the classifications waiting (`classification_backlog`).
Past a threshold, a new message is refused with a `busy` frame and a retry time before it is
stored: the visitor's widget keeps it and sends it again. A new socket is refused the same way
before it is admitted, so those already chatting keep their answers coming. Nothing accepted is
ever dropped: a message that got its `ack` is answered, however long the queue.
"""

import asyncio
import random
import weakref
from dataclasses import dataclass

from django.conf import settings

from chatbot.nlu.client import classification_backlog


@dataclass(frozen=True)
class Refusal:
    """Why new work was refused, and when to try again (seconds)."""

    reason: str
    retry_after: float


class Load:
    """What this process carries now."""

    def __init__(self) -> None:
        self.open_sockets = 0
        # The sockets whose visitor waits for an answer (usually to one message each).
        self.awaiting: weakref.WeakSet = weakref.WeakSet()

    def refuse_message(self) -> Refusal | None:
        """Return why a new visitor message cannot be taken now, or None to take it."""
        if len(self.awaiting) >= settings.CHAT_BUSY_TURNS:
            return _refusal("turns")
        if classification_backlog() >= settings.NLU_BUSY_QUEUE_DEPTH:
            return _refusal("classification queue")
        return None

    def refuse_socket(self) -> Refusal | None:
        """Return why a new socket cannot be admitted now, or None to admit it.

        A socket brings no work until its visitor writes, and its messages are refused while
        this process is busy; so sockets are turned away only at the connection limit, or when
        the classification queue (shared by every web process) is twice past its threshold.
        """
        if self.open_sockets >= settings.CHAT_MAX_CONNECTIONS:
            return _refusal("connections")
        if classification_backlog() >= 2 * settings.NLU_BUSY_QUEUE_DEPTH:
            return _refusal("classification queue")
        return None


def _refusal(reason: str) -> Refusal:
    # Spread the retries, so that refused visitors do not all come back in the same second.
    base = settings.CHAT_BUSY_RETRY_SECONDS
    return Refusal(reason, round(base * random.uniform(1.0, 1.5), 1))


# Per event loop: a server process runs one, tests run several.
_loads: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Load]" = weakref.WeakKeyDictionary()


def current_load() -> Load:
    """Return this event loop's load."""
    loop = asyncio.get_running_loop()
    load = _loads.get(loop)
    if load is None:
        load = _loads[loop] = Load()
    return load
