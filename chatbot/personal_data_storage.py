"""What is stored of a message holding personal data: PERSONAL_DATA_STORAGE decides.

A message's text is always stored masked (`chatbot.personal_data`), so everything that reads it
(the bot, the language model, the console, the API, webhooks, logs) sees placeholders. Its
original is kept beside it only if the setting says so: `encrypt` keeps it encrypted with the
PERSONAL_DATA_KEYS (Fernet keys: the first encrypts, all decrypt, so a key can be rotated),
`keep` keeps it in clear, `mask` (the default) keeps nothing. docs/personal-data.md.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from chatbot import personal_data

MASK = "mask"
ENCRYPT = "encrypt"
KEEP = "keep"
MODES = (MASK, ENCRYPT, KEEP)
# Who may read a masked message's original: granted to roles in the admin (superusers have it).
REVEAL_PERMISSION = "chatbot.reveal_personal_data"


class NoOriginal(Exception):
    """The message was not masked, or its original was not kept."""


class UnreadableOriginal(Exception):
    """The original is encrypted with a key that is no longer among PERSONAL_DATA_KEYS."""


@dataclass(frozen=True)
class ProtectedText:
    """A message as it is stored: masked text, the kinds masked, and its original if kept."""

    text: str
    masked: list[str]
    original_text: str = ""
    original_encrypted: str = ""


def protect(text: str, kinds: Iterable[str] = personal_data.KINDS) -> ProtectedText:
    """Mask the text and keep its original as the storage mode says."""
    masked_text, masked = personal_data.mask(text, kinds)
    if not masked:
        return ProtectedText(text, [])
    mode = storage_mode()
    if mode == ENCRYPT:
        token = cipher().encrypt(text.encode("utf-8")).decode("ascii")
        return ProtectedText(masked_text, masked, original_encrypted=token)
    if mode == KEEP:
        return ProtectedText(masked_text, masked, original_text=text)
    return ProtectedText(masked_text, masked)


def original(original_text: str, original_encrypted: str) -> str:
    """Return a stored message's original; raise NoOriginal if none was kept."""
    if original_encrypted:
        try:
            return cipher().decrypt(original_encrypted.encode("ascii")).decode("utf-8")
        except InvalidToken:
            raise UnreadableOriginal() from None
    if original_text:
        return original_text
    raise NoOriginal()


def rotated(original_encrypted: str) -> str:
    """Return the original encrypted again with the current (first) key."""
    try:
        return cipher().rotate(original_encrypted.encode("ascii")).decode("ascii")
    except InvalidToken:
        raise UnreadableOriginal() from None


def may_reveal(user) -> bool:
    """Return whether this user's role allows reading masked messages' originals."""
    return bool(
        user is not None
        and user.is_authenticated
        and user.is_active
        and user.has_perm(REVEAL_PERMISSION)
    )


def storage_mode() -> str:
    """Return PERSONAL_DATA_STORAGE, checked."""
    mode = settings.PERSONAL_DATA_STORAGE
    if mode not in MODES:
        raise ImproperlyConfigured(
            f"PERSONAL_DATA_STORAGE must be one of {', '.join(MODES)}, got {mode!r}"
        )
    return mode


def keeps_originals() -> bool:
    """Return whether new messages' originals are kept (encrypted or in clear)."""
    return storage_mode() != MASK


def cipher() -> MultiFernet:
    """Return the cipher of PERSONAL_DATA_KEYS; ImproperlyConfigured without a valid key."""
    return _cipher(tuple(settings.PERSONAL_DATA_KEYS))


@lru_cache(maxsize=4)
def _cipher(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([fernet(key) for key in checked_keys(keys)])


def checked_keys(keys: Iterable[str]) -> list[str]:
    """Return the keys if there is one and each is a Fernet key, else ImproperlyConfigured."""
    keys = [key.strip() for key in keys if key.strip()]
    if not keys:
        raise ImproperlyConfigured(
            "PERSONAL_DATA_STORAGE=encrypt needs PERSONAL_DATA_KEYS: one or more Fernet keys, "
            "newest first (make one with: python -c 'from cryptography.fernet import Fernet; "
            "print(Fernet.generate_key().decode())')"
        )
    for key in keys:
        fernet(key)
    return keys


def fernet(key: str) -> Fernet:
    """Return the Fernet of one key, or ImproperlyConfigured if it is not one."""
    try:
        return Fernet(key.encode("ascii"))
    except (ValueError, UnicodeEncodeError):
        raise ImproperlyConfigured(
            "PERSONAL_DATA_KEYS holds a value that is not a Fernet key (32 url-safe base64-encoded "
            "bytes)"
        ) from None
