"""The transactional outbox: an event's deliveries are written with the change that caused it.

The caller's transaction commits the change and its deliveries together, or neither; the
delivery task is sent after the commit. A process that dies in between loses nothing: the
sweep (`chatbot.webhooks.delivery.sweep`) finds the rows.
"""

import datetime
from collections.abc import Iterable

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from chatbot.webhooks.events import EVENT_TYPES
from chatbot.webhooks.models import Delivery, DeliveryLine, Subscription, WebhookEvent


def emit(event_type: str, data: dict, ordering_key: str) -> None:
    """Write the event for every active subscription that asked for it."""
    emit_many([(event_type, data)], ordering_key)


def emit_many(events: Iterable[tuple[str, dict]], ordering_key: str) -> None:
    """Write several events of one ordering key, in this order."""
    events = list(events)
    for event_type, _ in events:
        if event_type not in EVENT_TYPES:
            raise ValueError(f"unknown webhook event {event_type!r}")
    # One query whatever happens; with no subscriber that is all an event costs.
    wanted_by = {
        pk: wanted
        for pk, wanted in Subscription.objects.filter(is_active=True).values_list("pk", "events")
        if any(event_type in wanted for event_type, _ in events)
    }
    if not wanted_by:
        return
    now = timezone.now()
    give_up_at = now + datetime.timedelta(seconds=settings.WEBHOOK_RETRY_FOR_SECONDS)
    with transaction.atomic():
        stored = WebhookEvent.objects.bulk_create(
            WebhookEvent(type=event_type, data=data, ordering_key=ordering_key)
            for event_type, data in events
        )
        deliveries, lines = [], []
        for subscription_id, wanted in wanted_by.items():
            mine = [event for event in stored if event.type in wanted]
            if not mine:
                continue
            line_id, last = _reserve(subscription_id, ordering_key, len(mine))
            lines.append(line_id)
            deliveries.extend(
                Delivery(
                    subscription_id=subscription_id,
                    line_id=line_id,
                    sequence=last - len(mine) + 1 + index,
                    event=event,
                    next_attempt_at=now,
                    give_up_at=give_up_at,
                )
                for index, event in enumerate(mine)
            )
        Delivery.objects.bulk_create(deliveries)
        transaction.on_commit(lambda: _send_after_commit(lines))


def _send_after_commit(line_ids: list[int]) -> None:
    from chatbot.webhooks.tasks import schedule_line

    for line_id in line_ids:
        schedule_line(line_id)


def _reserve(subscription_id: int, ordering_key: str, count: int) -> tuple[int, int]:
    """Reserve `count` sequence numbers of the line; return its id and the last number.

    The UPDATE's row lock, held to the commit, makes the line's numbers commit in order.
    """
    table = DeliveryLine._meta.db_table
    for _ in range(2):
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {table} SET last_sequence = last_sequence + %s"
                " WHERE subscription_id = %s AND ordering_key = %s RETURNING id, last_sequence",
                [count, subscription_id, ordering_key],
            )
            row = cursor.fetchone()
        if row is not None:
            return row[0], row[1]
        try:
            with transaction.atomic():
                line = DeliveryLine.objects.create(
                    subscription_id=subscription_id, ordering_key=ordering_key, last_sequence=count
                )
            return line.pk, count
        except IntegrityError:
            continue  # made by a concurrent writer just now: its row is there to update
    raise RuntimeError(f"could not reserve a sequence on {subscription_id}/{ordering_key}")
