"""Count failed sign-ins per account and per client address; lock either out at its limit.

Kept in the database, so every web process sees the same counts with or without Redis. Once a
key reaches its limit, its failures are cleared and it is locked out for SIGNIN_LOCKOUT_MINUTES:
afterwards it starts again with a full set of attempts.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.utils.crypto import salted_hmac

from chatbot.staff_auth import clock
from chatbot.staff_auth.models import SignInFailure, SignInLockout


def account_key(username: str) -> tuple[str, str]:
    """Return the throttling key of a username, whether or not such an account exists."""
    return SignInFailure.ACCOUNT, _digest(username.strip().casefold())


def address_key(address: str | None) -> tuple[str, str] | None:
    """Return the throttling key of a client address (None without one)."""
    return (SignInFailure.ADDRESS, _digest(address)) if address else None


def locked_until(keys: list[tuple[str, str] | None]) -> datetime | None:
    """Return when the latest lockout among these keys ends, or None if none is locked."""
    now = clock.now()
    ends = [
        lockout.until
        for scope, digest in filter(None, keys)
        for lockout in SignInLockout.objects.filter(scope=scope, key_digest=digest, until__gt=now)
    ]
    return max(ends, default=None)


def count_failure(keys: list[tuple[str, str] | None]) -> datetime | None:
    """Count a failed sign-in against each key; return when a lockout it started ends."""
    now = clock.now()
    window_start = now - timedelta(minutes=settings.SIGNIN_FAILURE_WINDOW_MINUTES)
    # Failures older than the window never count again, for any key.
    SignInFailure.objects.filter(at__lt=window_start).delete()
    started = None
    for scope, digest in filter(None, keys):
        SignInFailure.objects.create(scope=scope, key_digest=digest, at=now)
        failures = SignInFailure.objects.filter(
            scope=scope, key_digest=digest, at__gte=window_start
        )
        if failures.count() >= _limit(scope):
            started = now + timedelta(minutes=settings.SIGNIN_LOCKOUT_MINUTES)
            SignInLockout.objects.update_or_create(
                scope=scope, key_digest=digest, defaults={"until": started}
            )
            failures.delete()
    return started


def forget_failures(key: tuple[str, str]) -> None:
    """Clear a key's failures: its owner has just signed in."""
    scope, digest = key
    SignInFailure.objects.filter(scope=scope, key_digest=digest).delete()


def _limit(scope: str) -> int:
    if scope == SignInFailure.ACCOUNT:
        return settings.SIGNIN_MAX_FAILURES_PER_ACCOUNT
    return settings.SIGNIN_MAX_FAILURES_PER_ADDRESS


def _digest(value: str) -> str:
    # Keyed with the secret key, so a leaked table cannot be matched against guessed usernames.
    return salted_hmac("chatbot.staff_auth.throttle", value, algorithm="sha256").hexdigest()
