"""The webhooks endpoints: subscriptions (secret returned once), deliveries, resend."""

import pytest

from chatbot import actions
from chatbot.webhooks.models import Delivery, Subscription

pytestmark = pytest.mark.django_db

NEW = {
    "name": "crm",
    "url": "https://hooks.example.com/in",
    "events": ["message.created", "handoff.requested"],
    "owner_email": "ops@example.com",
}


def test_a_subscription_is_made_with_its_secret_shown_only_then(api):
    made = api.post("/api/v1/webhooks/subscriptions", NEW, format="json")

    assert made.status_code == 201, made.content
    body = made.json()
    assert body["secret"].startswith("whsec_") and body["is_active"] is True
    stored = Subscription.objects.get()
    assert stored.secret == body["secret"] and stored.events == NEW["events"]
    read = api.get(f"/api/v1/webhooks/subscriptions/{stored.pk}").json()
    listed = api.get("/api/v1/webhooks/subscriptions").json()["results"]
    assert "secret" not in read and "secret" not in listed[0]
    assert read["url"] == NEW["url"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"url": "ftp://hooks.example.com/in"}, "url"),
        ({"url": "not a url"}, "url"),
        ({"events": ["message.sent"]}, "events"),
        ({"events": []}, "events"),
        ({"name": " "}, "name"),
        ({"owner_email": "nobody"}, "owner_email"),
    ],
)
def test_bad_subscriptions_are_refused_with_the_field_named(api, change, field):
    response = api.post("/api/v1/webhooks/subscriptions", {**NEW, **change}, format="json")

    assert response.status_code == 400
    assert list(response.json()["error"]["details"]) == [field]
    assert not Subscription.objects.exists()


def test_private_addresses_are_refused_unless_allowed(api, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = False

    response = api.post(
        "/api/v1/webhooks/subscriptions",
        {**NEW, "url": "http://169.254.169.254/latest"},
        format="json",
    )

    assert response.status_code == 400
    assert "private address" in str(response.json()["error"]["details"]["url"])


def test_a_subscription_is_changed_paused_resumed_and_deleted(api):
    pk = api.post("/api/v1/webhooks/subscriptions", NEW, format="json").json()["id"]
    path = f"/api/v1/webhooks/subscriptions/{pk}"

    paused = api.patch(path, {"is_active": False, "events": ["ticket.created"]}, format="json")
    resumed = api.patch(path, {"is_active": True}, format="json")
    deleted = api.delete(path)

    assert paused.json()["is_active"] is False and paused.json()["events"] == ["ticket.created"]
    assert resumed.json()["is_active"] is True
    assert deleted.status_code == 204 and not Subscription.objects.exists()
    assert api.get(path).status_code == 404


def test_deliveries_are_listed_and_one_is_resent(api):
    pk = api.post("/api/v1/webhooks/subscriptions", NEW, format="json").json()["id"]
    conversation = actions.open_conversation(actions.create_visitor().pk)
    actions.record_visitor_message(conversation.pk, "c-1", "hello")
    Delivery.objects.update(status=Delivery.Status.FAILED)

    listed = api.get(f"/api/v1/webhooks/subscriptions/{pk}/deliveries").json()["results"]
    resent = api.post(f"/api/v1/webhooks/deliveries/{listed[0]['id']}/resend")

    assert [(d["event_type"], d["sequence"], d["status"]) for d in listed] == [
        ("message.created", 1, "failed")
    ]
    assert listed[0]["data"]["text"] == "hello" and listed[0]["attempts"] == []
    assert resent.status_code == 202 and resent.json()["status"] == "pending"
    assert api.post("/api/v1/webhooks/deliveries/not-a-uuid/resend").status_code == 404


def test_a_read_key_cannot_change_subscriptions(api_client_with):
    reader = api_client_with("webhooks:read")

    response = reader.post("/api/v1/webhooks/subscriptions", NEW, format="json")

    assert response.status_code == 403
    assert not Subscription.objects.exists()
