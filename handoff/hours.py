"""Business hours: when agents take conversations. Plain Python.

Written like "mon-fri 08:00-20:00; sat 09:00-13:00"; "always" (the default) means any time.
"""

import datetime
import re

DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
PART = re.compile(
    r"^\s*(mon|tue|wed|thu|fri|sat|sun)(?:-(mon|tue|wed|thu|fri|sat|sun))?\s+(\d{2}):(\d{2})-(\d{2}):(\d{2})\s*$"
)


class BadHours(ValueError):
    """The business hours are not written in the expected form."""


def parse_hours(text: str) -> list[tuple[set[int], int, int]] | None:
    """Return (weekdays, start minute, end minute) per part; None for "always"."""
    if text.strip().lower() in ("", "always"):
        return None
    parts = []
    for part in text.lower().split(";"):
        match = PART.match(part)
        if not match:
            raise BadHours(f"{part.strip()!r}: write it like 'mon-fri 08:00-20:00'")
        first, last = DAYS.index(match[1]), DAYS.index(match[2] or match[1])
        days = {day % 7 for day in range(first, last + 1 if last >= first else last + 8)}
        start, end = int(match[3]) * 60 + int(match[4]), int(match[5]) * 60 + int(match[6])
        if not (0 <= start < end <= 24 * 60):
            raise BadHours(f"{part.strip()!r}: the times must run forward within a day")
        parts.append((days, start, end))
    return parts


def is_open(hours: list[tuple[set[int], int, int]] | None, moment: datetime.datetime) -> bool:
    """Return whether agents work at this local moment."""
    if hours is None:
        return True
    minute = moment.hour * 60 + moment.minute
    return any(moment.weekday() in days and start <= minute < end for days, start, end in hours)
