"""The time sign-in rules are judged by: one function, so that tests can move it."""

from datetime import datetime

from django.utils import timezone


def now() -> datetime:
    """Return the current time (aware, UTC)."""
    return timezone.now()
