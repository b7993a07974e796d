"""What sign-in remembers between requests and across server processes.

Failed sign-ins and lockouts are kept by a digest of the username or address, never the name
typed (a password typed into the username field must not be stored). A user's session
generation ends all their sessions at once, whichever session backend is configured.
"""

from django.conf import settings
from django.db import models


class SignInFailure(models.Model):
    """One failed sign-in, counted against an account or a client address."""

    ACCOUNT = "account"
    ADDRESS = "address"
    SCOPES = [(ACCOUNT, "Account"), (ADDRESS, "Client address")]

    scope = models.CharField(max_length=8, choices=SCOPES)
    key_digest = models.CharField(max_length=64)
    at = models.DateTimeField(db_index=True)

    class Meta:
        indexes = [models.Index(fields=["scope", "key_digest", "at"])]


class SignInLockout(models.Model):
    """An account or address refused sign-ins until a time, after too many failures."""

    scope = models.CharField(max_length=8, choices=SignInFailure.SCOPES)
    key_digest = models.CharField(max_length=64)
    until = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["scope", "key_digest"], name="one_lockout_per_key")
        ]


class SessionGeneration(models.Model):
    """A user's session generation: a session stamped with an older one has ended."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True
    )
    number = models.PositiveIntegerField(default=0)
