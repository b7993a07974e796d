"""The audit log's entries: written once, never changed or removed by the application.

An entry names who acted, what they did and to what, by ids and counts only: it never holds a
message's text or a customer's details, so erasing a customer's data leaves it standing. The
actor is kept by id and name rather than by a foreign key, so that removing a user changes no
entry. On PostgreSQL, triggers refuse UPDATE and DELETE on the table itself.
"""

from django.db import models
from django.utils import timezone


class AppendOnlyError(Exception):
    """Raised when code tries to change or remove an audit entry."""


class AuditEntryQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AppendOnlyError("audit entries cannot be changed")

    def delete(self):
        raise AppendOnlyError("audit entries cannot be removed")

    # Bulk writes that would change stored rows go the same way.
    def bulk_update(self, objs, fields, batch_size=None):
        raise AppendOnlyError("audit entries cannot be changed")


class AuditEntry(models.Model):
    """One thing a person or a system did: who, what, to what, from where, when."""

    STAFF = "staff"
    API_KEY = "api_key"
    SYSTEM = "system"
    VISITOR = "visitor"
    ACTOR_KINDS = [
        (STAFF, "Staff user"),
        (API_KEY, "API key"),
        (SYSTEM, "The platform"),
        (VISITOR, "Visitor"),
    ]

    at = models.DateTimeField(default=timezone.now, db_index=True, editable=False)
    actor_kind = models.CharField(max_length=16, choices=ACTOR_KINDS, editable=False)
    # The user's or key's id and name as they were; no foreign key, so nothing cascades here.
    actor_id = models.CharField(max_length=64, blank=True, editable=False)
    actor_name = models.CharField(max_length=150, blank=True, db_index=True, editable=False)
    action = models.CharField(max_length=64, db_index=True, editable=False)
    target_type = models.CharField(max_length=64, blank=True, editable=False)
    target_id = models.CharField(max_length=128, blank=True, db_index=True, editable=False)
    ip_address = models.GenericIPAddressField(null=True, blank=True, editable=False)
    request_id = models.CharField(max_length=64, blank=True, editable=False)
    # Ids, counts and field names only: never content.
    details = models.JSONField(default=dict, blank=True, editable=False)

    objects = AuditEntryQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = "audit entry"
        verbose_name_plural = "audit entries"
        indexes = [models.Index(fields=["target_type", "target_id"])]

    def __str__(self) -> str:
        target = f" {self.target_type} {self.target_id}" if self.target_type else ""
        actor = self.actor_name or self.actor_kind
        return f"{self.at:%Y-%m-%d %H:%M:%S} {actor} {self.action}{target}"

    def save(self, *args, **kwargs):
        if self.pk is not None and not self._state.adding:
            raise AppendOnlyError("audit entries cannot be changed")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("audit entries cannot be removed")
