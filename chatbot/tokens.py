"""Signed visitor tokens: the only way to reach a conversation from the widget."""

import uuid
from datetime import timedelta

from django.conf import settings
from django.core import signing

_SALT = "chatbot.visitor-token"


class InvalidToken(Exception):
    """The token was not issued by this server, or was altered."""


class ExpiredToken(Exception):
    """The token was issued by this server but is too old."""


def issue_visitor_token(visitor_id: uuid.UUID) -> str:
    """Return a token that names the visitor, signed with SECRET_KEY."""
    return signing.TimestampSigner(salt=_SALT).sign(str(visitor_id))


def read_visitor_token(token: str) -> uuid.UUID:
    """Return the visitor id a token names, or raise InvalidToken / ExpiredToken."""
    max_age = timedelta(days=settings.CHAT_TOKEN_MAX_AGE_DAYS)
    try:
        value = signing.TimestampSigner(salt=_SALT).unsign(token, max_age=max_age)
    except signing.SignatureExpired:
        raise ExpiredToken from None
    except signing.BadSignature:
        raise InvalidToken from None
    try:
        return uuid.UUID(value)
    except ValueError:
        raise InvalidToken from None
