"""Signing a webhook, and the check a receiver makes (docs/webhooks.md).

Plain Python on purpose: a receiver may copy `verify_signature` as it is.
"""

import hashlib
import hmac
import time

SIGNATURE_VERSION = "v1"
# A delivery signed longer ago than this is refused: a replayed old request fails the check.
DEFAULT_TOLERANCE_SECONDS = 300


class InvalidSignature(Exception):
    """The request was not signed with the secret, was altered, or is too old."""


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """Return the `Webhook-Signature` header's value: HMAC-SHA256 of "{timestamp}.{body}"."""
    signed = f"{timestamp}.".encode() + body
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"{SIGNATURE_VERSION}={digest}"


def verify_signature(
    secret: str,
    body: bytes,
    timestamp_header: str,
    signature_header: str,
    tolerance_seconds: int = DEFAULT_TOLERANCE_SECONDS,
    now: float | None = None,
) -> None:
    """Raise InvalidSignature unless `body` was signed with `secret` within the tolerance.

    `signature_header` may hold several space-separated signatures (while a secret is being
    replaced); one match is enough.
    """
    try:
        timestamp = int(timestamp_header)
    except (TypeError, ValueError):
        raise InvalidSignature("Webhook-Timestamp is not a number") from None
    now = time.time() if now is None else now
    if abs(now - timestamp) > tolerance_seconds:
        raise InvalidSignature("Webhook-Timestamp is outside the tolerance: a replay?")
    expected = signature(secret, timestamp, body)
    # compare_digest takes the same time whatever the first differing character.
    if not any(hmac.compare_digest(expected, given) for given in signature_header.split()):
        raise InvalidSignature("no signature matches")
