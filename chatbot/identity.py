"""A logged-in customer's identity, signed by the company's website and checked here.

The host page's backend signs who its user is with the site's secret (CHAT_IDENTITY_SECRET) and
hands the signed identity to the widget, which passes it on in its hello. The signature is a
lower-case hex HMAC-SHA256 of

    user_id + "\\n" + name + "\\n" + email + "\\n" + str(issued_at)

No field may hold a line break or another control character, so no two identities share a
message. `issued_at` is Unix seconds: an identity is good for CHAT_IDENTITY_MAX_AGE_SECONDS, so
one copied out of a page does not open the customer's conversations for ever.

Plain Python: the consumer gives the secret, the age limit and the time.
"""

import hashlib
import hmac
import unicodedata
from dataclasses import dataclass

MAX_USER_ID_CHARS = 128
MAX_NAME_CHARS = 200
MAX_EMAIL_CHARS = 254
# A page may be rendered on a server whose clock runs a little ahead of ours.
CLOCK_SKEW_SECONDS = 300


class InvalidIdentity(Exception):
    """The identity is malformed, unsigned, wrongly signed or too old; `reason` says which."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Identity:
    """Who the company's website says its logged-in user is."""

    user_id: str
    name: str
    email: str

    def as_frame(self) -> dict:
        """What the visitor's own widget is told back (never the email: it needs none)."""
        return {"user_id": self.user_id, "name": self.name}


def signed_message(user_id: str, name: str, email: str, issued_at: int) -> bytes:
    return f"{user_id}\n{name}\n{email}\n{issued_at}".encode()


def sign_identity(secret: str, user_id: str, name: str, email: str, issued_at: int) -> str:
    """Return the signature a host backend computes (docs/protocol.md, "Identified customers")."""
    message = signed_message(user_id, name, email, issued_at)
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def verify_identity(
    identity: object, secret: str, max_age_seconds: int, now: float, previous_secret: str = ""
) -> Identity:
    """Return the identity if its signature and age hold; raise InvalidIdentity if not.

    While a secret is being rotated, an identity signed with `previous_secret` holds too, so
    pages rendered before the website switched keep working until they expire.
    """
    if not secret:
        raise InvalidIdentity("this server accepts no identities (CHAT_IDENTITY_SECRET is unset)")
    if not isinstance(identity, dict):
        raise InvalidIdentity("'identity' must be an object")
    user_id = _text(identity, "user_id", MAX_USER_ID_CHARS, required=True)
    name = _text(identity, "name", MAX_NAME_CHARS)
    email = _text(identity, "email", MAX_EMAIL_CHARS)
    issued_at = identity.get("issued_at")
    if isinstance(issued_at, bool) or not isinstance(issued_at, int):
        raise InvalidIdentity("'issued_at' must be Unix seconds (an integer)")
    signature = identity.get("signature")
    if not isinstance(signature, str):
        raise InvalidIdentity("'signature' is missing")
    given = signature.strip().lower().encode()
    # Compared in constant time, as bytes: a non-ASCII forgery must not raise instead of fail.
    # Every secret is tried, so the time taken does not tell which one nearly matched.
    matches = [
        hmac.compare_digest(sign_identity(key, user_id, name, email, issued_at).encode(), given)
        for key in (secret, previous_secret)
        if key
    ]
    if not any(matches):
        raise InvalidIdentity("the signature does not match")
    if issued_at > now + CLOCK_SKEW_SECONDS:
        raise InvalidIdentity("'issued_at' is in the future")
    if now - issued_at > max_age_seconds:
        raise InvalidIdentity("the identity has expired: the page must sign a new one")
    return Identity(user_id, name, email)


def _text(identity: dict, field: str, limit: int, required: bool = False) -> str:
    value = identity.get(field, "")
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise InvalidIdentity(f"'{field}' must be a string")
    if required and not value.strip():
        raise InvalidIdentity(f"'{field}' is required")
    if len(value) > limit:
        raise InvalidIdentity(f"'{field}' is longer than {limit} characters")
    if any(unicodedata.category(character) == "Cc" for character in value):
        raise InvalidIdentity(f"'{field}' holds a line break or another control character")
    return value
