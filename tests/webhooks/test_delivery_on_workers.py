"""Delivery on PostgreSQL, Redis and a real Celery worker consuming the `webhooks` queue."""

import pytest

from chatbot.webhooks.models import Delivery, DeliveryAttempt
from tests.webhooks.outage import deliver_through_an_outage

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


def test_events_during_an_outage_arrive_signed_in_order_and_none_lost_on_workers(
    requires_services,
):
    # The worker runs with WEBHOOK_RETRY_* of a fraction of a second (tests/conftest.py).
    deliver_through_an_outage(
        failed_attempts=lambda: DeliveryAttempt.objects.filter(is_success=False).count(),
        settled=lambda: not Delivery.objects.exclude(status=Delivery.Status.DELIVERED).exists(),
    )
