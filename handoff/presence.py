"""When an agent counts as present. Plain Python: times in, decisions out.

An agent is present while one of their consoles is alive. A console is alive until its deadline:
each heartbeat pushes the deadline `timeout` ahead, so a console whose process died without a word
lapses on its own; a console that closes keeps the `grace` of a reload. An online agent none of
whose consoles is alive any more has gone.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass

# A check that finds the deadline not quite reached (clocks differ a little) looks again this soon.
SHORTEST_CHECK_SECONDS = 0.5


@dataclass(frozen=True)
class PresenceTimes:
    """How often consoles ping, when a silent one counts as gone, and the grace of a reload."""

    heartbeat_seconds: float
    timeout_seconds: float
    grace_seconds: float

    def heard(self, now: datetime.datetime) -> datetime.datetime:
        """Return how long a console just heard from stays alive without another word."""
        return now + datetime.timedelta(seconds=self.timeout_seconds)

    def closed(self, now: datetime.datetime) -> datetime.datetime:
        """Return how long a console that just closed still counts, for a reload to come back."""
        return now + datetime.timedelta(seconds=self.grace_seconds)


def is_alive(live_until: datetime.datetime, now: datetime.datetime) -> bool:
    """Return whether a console with this deadline still counts at `now`."""
    return live_until > now


def has_gone(
    is_online: bool, deadlines: Iterable[datetime.datetime], now: datetime.datetime
) -> bool:
    """Return whether an online agent with consoles has none alive: they left without a word.

    An agent without any console recorded (made online by an administrator) is not judged here.
    """
    deadlines = list(deadlines)
    return is_online and bool(deadlines) and not any(is_alive(d, now) for d in deadlines)


def seconds_until_check(
    deadlines: Iterable[datetime.datetime], now: datetime.datetime, longest: float
) -> float | None:
    """Return when to look again: once the last console lapses (at most `longest` from now).

    None when there is no console left to watch; 0 when the last one has lapsed already.
    """
    deadlines = list(deadlines)
    if not deadlines:
        return None
    remaining = (max(deadlines) - now).total_seconds()
    if remaining <= 0:
        return 0.0
    return min(max(remaining, SHORTEST_CHECK_SECONDS), longest)
