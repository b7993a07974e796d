"""Delivery on the embedded default: to a real HTTP receiver, retried, paused, resent."""

import pytest
from django.db import transaction
from django.utils import timezone
from prometheus_client import REGISTRY

from chatbot import actions
from chatbot.webhooks.events import EVENT_TYPES
from chatbot.webhooks.models import Delivery, DeliveryAttempt, Subscription
from tests.webhooks.conftest import subscribe
from tests.webhooks.outage import deliver_through_an_outage
from tests.webhooks.receiver import Receiver, embedded_deliveries_idle, wait_for

# Delivery threads write to the shared in-memory database: the tests read it only while they
# are idle (see tests/webhooks/outage.py).
pytestmark = pytest.mark.django_db(transaction=True)


def attempts_counted(outcome: str) -> int:
    return sum(
        REGISTRY.get_sample_value(
            "chatbot_webhook_attempts_total", {"event": e, "outcome": outcome}
        )
        or 0
        for e in EVENT_TYPES
    )


def test_events_during_an_outage_arrive_signed_in_order_and_none_lost():
    failed_before = attempts_counted("retrying")

    deliver_through_an_outage(
        failed_attempts=lambda: attempts_counted("retrying") - failed_before,
        settled=embedded_deliveries_idle,
    )


def test_a_subscription_that_keeps_failing_is_paused_and_its_owner_told(settings, mailoutbox):
    settings.WEBHOOK_RETRY_FOR_SECONDS = 0  # every failed delivery is given up at once
    settings.WEBHOOK_PAUSE_AFTER_FAILED_DELIVERIES = 2
    receiver = Receiver(status=500).up()
    subscription = subscribe(
        receiver.url, events=["message.created"], owner_email="ops@example.com"
    )
    receiver.secret = subscription.secret
    with transaction.atomic():
        conversation = actions.open_conversation(actions.create_visitor().pk)
        for number in range(3):
            actions.record_visitor_message(conversation.pk, f"m-{number}", f"message {number}")

    wait_for(lambda: mailoutbox, "the owner to be told")
    wait_for(embedded_deliveries_idle, "the deliveries to stop")
    subscription.refresh_from_db()
    assert not subscription.is_active
    assert subscription.pause_reason == "2 deliveries in a row were given up on"
    assert [(m.to, m.subject) for m in mailoutbox] == [
        (["ops@example.com"], "Webhook subscription paused: crm")
    ]
    deliveries = Delivery.objects.filter(subscription=subscription).order_by("sequence")
    assert [(d.status, d.attempt_count) for d in deliveries] == [
        ("failed", 1),
        ("failed", 1),
        ("pending", 0),
    ]
    assert [a.status_code for a in DeliveryAttempt.objects.all()] == [500, 500]
    receiver.down()


def test_a_resend_from_the_admin_delivers_the_same_delivery_again(admin_client):
    receiver = Receiver().up()
    subscription = subscribe(receiver.url, events=["conversation.started"])
    receiver.secret = subscription.secret
    actions.open_conversation(actions.create_visitor().pk)
    wait_for(lambda: receiver.received, "the first delivery")
    wait_for(embedded_deliveries_idle, "the delivery to be recorded")
    delivery = Delivery.objects.get(status=Delivery.Status.DELIVERED)

    page = admin_client.post(
        "/admin/webhooks/delivery/",
        {"action": "resend", "_selected_action": [str(delivery.pk)]},
        follow=True,
    )

    assert page.status_code == 200
    wait_for(lambda: len(receiver.received) == 2, "the resent delivery to arrive")
    wait_for(embedded_deliveries_idle, "the delivery to be recorded")
    assert [e["id"] for e in receiver.received] == [str(delivery.pk)] * 2
    assert len(receiver.first_arrivals()) == 1  # a receiver that dedupes by id acts once
    assert DeliveryAttempt.objects.filter(delivery=delivery, is_success=True).count() == 2
    receiver.down()


def test_a_paused_subscription_resumed_in_the_admin_delivers_what_waited(admin_client):
    receiver = Receiver().up()
    subscription = subscribe(receiver.url, events=["message.created"])
    receiver.secret = subscription.secret
    conversation = actions.open_conversation(actions.create_visitor().pk)
    actions.record_visitor_message(conversation.pk, "m-1", "before the pause")
    wait_for(lambda: len(receiver.received) == 1, "the first delivery")
    wait_for(embedded_deliveries_idle, "the delivery to be recorded")
    Subscription.objects.filter(pk=subscription.pk).update(is_active=False)
    actions.record_visitor_message(conversation.pk, "m-2", "while paused: not written")
    Subscription.objects.filter(pk=subscription.pk).update(
        is_active=False, paused_at=timezone.now(), pause_reason="testing"
    )
    waiting = Delivery.objects.get()
    Delivery.objects.filter(pk=waiting.pk).update(status=Delivery.Status.PENDING)

    admin_client.post(
        "/admin/webhooks/subscription/",
        {"action": "resume", "_selected_action": [str(subscription.pk)]},
    )

    wait_for(lambda: len(receiver.received) == 2, "what waited to be delivered")
    wait_for(embedded_deliveries_idle, "the delivery to be recorded")
    assert [e["sequence"] for e in receiver.received] == [1, 1]
    subscription.refresh_from_db()
    assert subscription.is_active and subscription.paused_at is None
    receiver.down()


def test_a_private_address_is_refused_at_send_time_unless_allowed(settings):
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = False
    settings.WEBHOOK_RETRY_FOR_SECONDS = 0  # one attempt, then given up
    receiver = Receiver().up()
    subscribe(receiver.url, events=["conversation.started"])
    failed_before = attempts_counted("failed")

    actions.open_conversation(actions.create_visitor().pk)

    wait_for(lambda: attempts_counted("failed") > failed_before, "the refused attempt")
    wait_for(embedded_deliveries_idle, "the attempt to be recorded")
    attempt = DeliveryAttempt.objects.get()
    assert attempt.error.startswith("refused: ") and attempt.status_code is None
    assert receiver.received == []
    receiver.down()


def test_the_admin_shows_a_new_subscription_secret_once(admin_client):
    page = admin_client.post(
        "/admin/webhooks/subscription/add/",
        {
            "name": "crm",
            "url": "https://hooks.example.com/in",
            "events": ["message.created", "handoff.requested"],
            "owner_email": "ops@example.com",
        },
        follow=True,
    )

    subscription = Subscription.objects.get()
    assert subscription.secret.startswith("whsec_")
    assert subscription.secret in page.content.decode()
    change_page = admin_client.get(f"/admin/webhooks/subscription/{subscription.pk}/change/")
    assert subscription.secret not in change_page.content.decode()
