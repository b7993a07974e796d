"""Sending a line's deliveries in order: only its head, retried until delivered or given up.

A line is one subscription's deliveries for one ordering key (a conversation, the graph, the
models). While its head is undelivered, nothing behind it is sent, so a receiver sees each
conversation's events in order. One worker at a time holds a line (a conditional UPDATE), so
duplicate tasks or sweeps are harmless.
"""

import datetime
import json
import uuid

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from chatbot import metrics
from chatbot.webhooks import pausing, sending
from chatbot.webhooks.backoff import retry_delay
from chatbot.webhooks.models import Delivery, DeliveryAttempt, DeliveryLine, Subscription

# A worker that died mid-attempt lets go of its line this long after the attempt's timeout.
CLAIM_MARGIN_SECONDS = 30
# Deliveries one task sends before handing the rest of the line to a new task.
BATCH = 50
# What a step did when it leaves nothing to wait for.
HELD, EMPTY, NEXT = "held", "empty", "next"


def deliver_line(line_id: int) -> float | None:
    """Send the line's due deliveries in sequence; return seconds until it is due again.

    None: nothing to do now (sent everything, paused, or another worker holds the line).
    """
    for _ in range(BATCH):
        step = _step(line_id)
        if step == NEXT:
            continue
        if step == EMPTY and _has_due(line_id):
            continue  # committed while this worker held the line: its task found it held
        return None if step in (HELD, EMPTY) else step
    return 0.0


def _step(line_id: int) -> str | float:
    claim = _claim(line_id)
    if claim is None:
        return HELD
    try:
        head = (
            Delivery.objects.filter(line_id=line_id, status=Delivery.Status.PENDING)
            .select_related("event", "subscription")
            .order_by("sequence")
            .first()
        )
        if head is None or not head.subscription.is_active:
            return EMPTY
        wait = (head.next_attempt_at - timezone.now()).total_seconds()
        if wait > 0:
            return wait
        return attempt(head)
    finally:
        DeliveryLine.objects.filter(pk=line_id, claim=claim).update(claimed_until=None, claim="")


def _claim(line_id: int) -> str | None:
    now = timezone.now()
    token = uuid.uuid4().hex
    held_for = datetime.timedelta(seconds=settings.WEBHOOK_TIMEOUT_SECONDS + CLAIM_MARGIN_SECONDS)
    taken = (
        DeliveryLine.objects.filter(pk=line_id)
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .update(claimed_until=now + held_for, claim=token)
    )
    return token if taken else None


def _has_due(line_id: int) -> bool:
    return Delivery.objects.filter(
        line_id=line_id,
        status=Delivery.Status.PENDING,
        next_attempt_at__lte=timezone.now(),
        subscription__is_active=True,
    ).exists()


def body_of(delivery: Delivery) -> bytes:
    """Return the JSON body of a delivery: the same bytes on every attempt."""
    event = delivery.event
    envelope = {
        "id": str(delivery.pk),
        "type": event.type,
        "created_at": event.created_at.isoformat(),
        "ordering_key": event.ordering_key,
        "sequence": delivery.sequence,
        "data": event.data,
    }
    return json.dumps(envelope, separators=(",", ":"), sort_keys=True).encode()


def attempt(delivery: Delivery) -> str | float:
    """Send the delivery once and record it; return NEXT, or seconds until the retry."""
    subscription = delivery.subscription
    outcome = sending.post(
        subscription.url,
        str(delivery.pk),
        body_of(delivery),
        subscription.secret,
        timeout_seconds=settings.WEBHOOK_TIMEOUT_SECONDS,
        allow_private=settings.WEBHOOK_ALLOW_PRIVATE_URLS,
    )
    now = timezone.now()
    attempts = delivery.attempt_count + 1
    with transaction.atomic():
        DeliveryAttempt.objects.create(
            delivery=delivery,
            is_success=outcome.is_success,
            status_code=outcome.status_code,
            error=outcome.error,
            duration_ms=outcome.duration_ms,
            response_excerpt=outcome.response_excerpt,
        )
        deliveries = Delivery.objects.filter(pk=delivery.pk)
        if outcome.is_success:
            deliveries.update(
                status=Delivery.Status.DELIVERED, delivered_at=now, attempt_count=attempts
            )
            Subscription.objects.filter(pk=subscription.pk).filter(
                Q(failing_since__isnull=False) | Q(failed_deliveries_in_a_row__gt=0)
            ).update(failing_since=None, failed_deliveries_in_a_row=0)
            return _counted(delivery, "delivered", NEXT)
        Subscription.objects.filter(pk=subscription.pk, failing_since__isnull=True).update(
            failing_since=now
        )
        if now >= delivery.give_up_at:
            deliveries.update(status=Delivery.Status.FAILED, attempt_count=attempts)
            Subscription.objects.filter(pk=subscription.pk).update(
                failed_deliveries_in_a_row=F("failed_deliveries_in_a_row") + 1
            )
            pausing.pause_if_failing(subscription.pk, now)
            return _counted(delivery, "failed", NEXT)
        delay = retry_delay(
            attempts, settings.WEBHOOK_RETRY_BASE_SECONDS, settings.WEBHOOK_RETRY_MAX_SECONDS
        )
        deliveries.update(
            next_attempt_at=now + datetime.timedelta(seconds=delay), attempt_count=attempts
        )
        if pausing.pause_if_failing(subscription.pk, now):
            return _counted(delivery, "retrying", EMPTY)
        return _counted(delivery, "retrying", delay)


def _counted(delivery: Delivery, outcome: str, result):
    transaction.on_commit(
        lambda: metrics.WEBHOOK_ATTEMPTS.labels(delivery.event.type, outcome).inc()
    )
    return result


def due_lines() -> list[int]:
    """Return the lines whose head is due and which nobody holds: for the sweep."""
    now = timezone.now()
    return list(
        DeliveryLine.objects.filter(
            Q(claimed_until__isnull=True) | Q(claimed_until__lt=now),
            deliveries__status=Delivery.Status.PENDING,
            deliveries__next_attempt_at__lte=now,
            subscription__is_active=True,
        )
        .values_list("pk", flat=True)
        .distinct()
    )


def resend(delivery_id: uuid.UUID) -> Delivery:
    """Send a delivery again (same id and sequence), with a fresh retry window."""
    now = timezone.now()
    with transaction.atomic():
        Delivery.objects.filter(pk=delivery_id).update(
            status=Delivery.Status.PENDING, next_attempt_at=now, give_up_at=_give_up_from(now)
        )
        delivery = Delivery.objects.get(pk=delivery_id)
        transaction.on_commit(lambda: _schedule([delivery.line_id]))
    return delivery


def resume(subscription_id: int) -> None:
    """Take a paused subscription back: its waiting deliveries get a fresh retry window."""
    now = timezone.now()
    with transaction.atomic():
        Subscription.objects.filter(pk=subscription_id).update(
            is_active=True,
            paused_at=None,
            pause_reason="",
            failing_since=None,
            failed_deliveries_in_a_row=0,
        )
        waiting = Delivery.objects.filter(
            subscription_id=subscription_id, status=Delivery.Status.PENDING
        )
        lines = list(waiting.values_list("line_id", flat=True).distinct())
        waiting.update(next_attempt_at=now, give_up_at=_give_up_from(now))
        transaction.on_commit(lambda: _schedule(lines))


def _give_up_from(now: datetime.datetime) -> datetime.datetime:
    return now + datetime.timedelta(seconds=settings.WEBHOOK_RETRY_FOR_SECONDS)


def _schedule(line_ids: list[int]) -> None:
    from chatbot.webhooks.tasks import schedule_line

    for line_id in line_ids:
        schedule_line(line_id)
