"""Subscriptions, the outbox of events, each subscription's deliveries and every attempt."""

import secrets
import uuid

from django.conf import settings
from django.db import models

SECRET_PREFIX = "whsec"


def new_secret() -> str:
    return f"{SECRET_PREFIX}_{secrets.token_urlsafe(32)}"


class Subscription(models.Model):
    """A URL that is sent the events it names, signed with its secret."""

    name = models.CharField(max_length=100, help_text="Who or what receives the events.")
    url = models.URLField(max_length=2000)
    events = models.JSONField(default=list)
    # Kept in clear: signing needs it. Shown once, when the subscription is made.
    secret = models.CharField(max_length=100, default=new_secret, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    owner_email = models.EmailField(
        blank=True, help_text="Told when the subscription is paused (else the owner's email)."
    )
    is_active = models.BooleanField(default=True)
    paused_at = models.DateTimeField(null=True, blank=True, editable=False)
    pause_reason = models.CharField(max_length=300, blank=True, editable=False)
    owner_notified_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Since the last delivered attempt: when failing began, and deliveries given up on.
    failing_since = models.DateTimeField(null=True, blank=True, editable=False)
    failed_deliveries_in_a_row = models.PositiveIntegerField(default=0, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.name} ({self.url})"

    def notify_address(self) -> str:
        return self.owner_email or (self.owner.email if self.owner else "")


class WebhookEvent(models.Model):
    """One event in the outbox, written in the transaction of the change that caused it."""

    type = models.CharField(max_length=40)
    data = models.JSONField()
    ordering_key = models.CharField(max_length=100)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.type} #{self.pk}"


class DeliveryLine(models.Model):
    """A subscription's deliveries for one ordering key: numbered, and sent one at a time."""

    subscription = models.ForeignKey(Subscription, on_delete=models.CASCADE, related_name="lines")
    ordering_key = models.CharField(max_length=100)
    last_sequence = models.PositiveBigIntegerField(default=0)
    # Held by the worker sending the line's head, so that no two send at once; a worker that
    # died lets go when the time passes.
    claimed_until = models.DateTimeField(null=True, blank=True)
    claim = models.CharField(max_length=32, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["subscription", "ordering_key"], name="one_line_per_key"
            )
        ]

    def __str__(self) -> str:
        return f"{self.subscription_id}/{self.ordering_key}"


class Delivery(models.Model):
    """One event for one subscription; its id is the `Webhook-Id` receivers deduplicate by."""

    class Status(models.TextChoices):
        PENDING = "pending"
        DELIVERED = "delivered"
        FAILED = "failed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    subscription = models.ForeignKey(
        Subscription, on_delete=models.CASCADE, related_name="deliveries"
    )
    line = models.ForeignKey(DeliveryLine, on_delete=models.CASCADE, related_name="deliveries")
    sequence = models.PositiveBigIntegerField()
    event = models.ForeignKey(WebhookEvent, on_delete=models.CASCADE, related_name="deliveries")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempt_count = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    # Retries stop here: the delivery is marked failed.
    give_up_at = models.DateTimeField()
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "deliveries"
        constraints = [
            models.UniqueConstraint(fields=["line", "sequence"], name="one_delivery_per_sequence")
        ]
        indexes = [models.Index(fields=["line", "status", "sequence"])]

    def __str__(self) -> str:
        return f"{self.event.type} #{self.sequence} to {self.subscription.name}"


class DeliveryAttempt(models.Model):
    """One try at sending a delivery: what came back, or the error, and how long it took."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempts")
    attempted_at = models.DateTimeField(auto_now_add=True)
    is_success = models.BooleanField()
    status_code = models.PositiveIntegerField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True)
    duration_ms = models.PositiveIntegerField()
    response_excerpt = models.TextField(blank=True)

    class Meta:
        ordering = ["attempted_at", "pk"]
