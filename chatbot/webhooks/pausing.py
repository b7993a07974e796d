"""Pausing a subscription that keeps failing, and telling its owner."""

import datetime
import logging

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from chatbot.webhooks.models import Subscription

logger = logging.getLogger(__name__)


def failing_reason(
    failed_deliveries_in_a_row: int,
    failing_since: datetime.datetime | None,
    now: datetime.datetime,
) -> str:
    """Return why a subscription should be paused, or "" while it may go on."""
    if failed_deliveries_in_a_row >= settings.WEBHOOK_PAUSE_AFTER_FAILED_DELIVERIES:
        return f"{failed_deliveries_in_a_row} deliveries in a row were given up on"
    limit = datetime.timedelta(seconds=settings.WEBHOOK_PAUSE_AFTER_FAILING_SECONDS)
    if failing_since is not None and now - failing_since >= limit:
        return f"no delivery succeeded since {failing_since.isoformat(timespec='seconds')}"
    return ""


def pause_if_failing(subscription_id: int, now: datetime.datetime) -> bool:
    """Pause the subscription if it keeps failing; return whether it is paused now."""
    subscription = Subscription.objects.get(pk=subscription_id)
    reason = failing_reason(
        subscription.failed_deliveries_in_a_row, subscription.failing_since, now
    )
    if not reason:
        return False
    paused = Subscription.objects.filter(pk=subscription_id, is_active=True).update(
        is_active=False, paused_at=now, pause_reason=reason
    )
    if paused:
        transaction.on_commit(lambda: notify_owner(subscription_id))
    return True


def notify_owner(subscription_id: int) -> bool:
    """Email the owner that their subscription was paused; return whether a mail was sent."""
    subscription = Subscription.objects.select_related("owner").get(pk=subscription_id)
    address = subscription.notify_address()
    if not address:
        logger.warning("webhook subscription %s paused; it has no owner to tell", subscription)
        return False
    send_mail(
        subject=f"Webhook subscription paused: {subscription.name}",
        message=(
            f"Deliveries to {subscription.url} were paused: {subscription.pause_reason}.\n\n"
            "Events go on being kept for it. Fix the receiver, then resume the subscription "
            "in the admin (Webhooks > Subscriptions, action 'Resume') or through the API "
            '(PATCH with {"is_active": true}); what waits is delivered then, in order.'
        ),
        from_email=None,
        recipient_list=[address],
    )
    Subscription.objects.filter(pk=subscription_id).update(owner_notified_at=timezone.now())
    return True
