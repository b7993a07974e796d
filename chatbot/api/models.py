"""API keys: stored hashed, scoped, revocable, with the time each was last used."""

import hashlib
import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone

# What a key may do; each endpoint names the scope it needs (chatbot.api.views).
SCOPES = {
    "conversations:read": "read conversations and their events",
    "conversations:write": "post messages into conversations",
    "handoffs:read": "read handoffs and tickets",
    "handoffs:write": "close handoffs and tickets",
    "reports:read": "read the support desk's report figures",
    "knowledge:read": "read the knowledge graph's nodes, relations and change history",
    "knowledge:write": "add, change and remove the knowledge graph's nodes and relations",
    "intents:read": "read intents and their training examples",
    "intents:write": "add training examples",
    "models:read": "read the trained intent models and their figures",
    "models:write": "promote a trained model, or roll back to the one before",
    "webhooks:read": "read webhook subscriptions and their deliveries",
    "webhooks:write": "add, change and delete webhook subscriptions; resend deliveries",
    "audit:read": "read the audit trail: who opened, exported, erased or changed what",
    "privacy:export": "export one visitor's or identified customer's data",
    "privacy:erase": "erase one visitor's or identified customer's data",
}
KEY_PREFIX = "cbk"


def key_digest(key: str) -> str:
    # A key is 256 random bits: a plain SHA-256 cannot be reversed or guessed, and it lets
    # a request find its key with one indexed lookup.
    return hashlib.sha256(key.encode()).hexdigest()


class ApiKey(models.Model):
    """One integration's key. The key itself is shown once, at creation, and never stored."""

    name = models.CharField(max_length=100, help_text="Who or what uses the key.")
    # The key's first characters, to recognise it in lists and logs without revealing it.
    prefix = models.CharField(max_length=16, editable=False)
    digest = models.CharField(max_length=64, unique=True, editable=False)
    scopes = models.JSONField(default=list)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    @classmethod
    def issue(cls, name: str, scopes: list[str], created_by=None) -> tuple["ApiKey", str]:
        """Create a key with the given scopes; return it and the key text (shown only now)."""
        unknown = set(scopes) - set(SCOPES)
        if unknown:
            raise ValueError(f"unknown scopes: {', '.join(sorted(unknown))}")
        key = f"{KEY_PREFIX}_{secrets.token_urlsafe(32)}"
        api_key = cls.objects.create(
            name=name,
            prefix=key[:12],
            digest=key_digest(key),
            scopes=sorted(set(scopes)),
            created_by=created_by,
        )
        return api_key, key

    def revoke(self) -> None:
        if self.revoked_at is None:
            self.revoked_at = timezone.now()
            self.save(update_fields=["revoked_at"])
