"""The API exports and erases one person's data, by visitor id or by the customer's user id."""

import pytest

from chatbot.audit.models import AuditEntry
from chatbot.models import Conversation, Visitor
from tests.privacy.conftest import everything_stored, row_counts

pytestmark = [pytest.mark.django_db, pytest.mark.databases]


@pytest.fixture
def exporter(api_client_with):
    return api_client_with("privacy:export", name="dpo-tool")


@pytest.fixture
def eraser(api_client_with):
    return api_client_with("privacy:erase", name="dpo-tool")


def test_a_visitors_data_is_exported_by_id_and_the_export_is_recorded(exporter, ada, grace):
    response = exporter.get(f"/api/v1/visitors/{ada.visitor.pk}/export")

    assert response.status_code == 200
    data = response.json()
    assert data["visitor"]["external_id"] == "customer-ada"
    assert [c["id"] for c in data["conversations"]] == [str(ada.conversation.pk)]
    assert ada.message in response.content.decode()
    assert grace.message not in response.content.decode()
    entry = AuditEntry.objects.get(action="data_exported")
    assert (entry.actor_kind, entry.actor_id, entry.target_id) == (
        "api_key",
        str(exporter.api_key.pk),
        str(ada.visitor.pk),
    )


def test_a_customers_data_is_exported_by_their_user_id_even_with_a_slash_in_it(exporter, ada):
    Visitor.objects.filter(pk=ada.visitor.pk).update(external_id="branch/42")

    response = exporter.get("/api/v1/customers/branch%2F42/export")

    assert response.status_code == 200
    assert response.json()["visitor"]["id"] == str(ada.visitor.pk)


def test_erasing_a_customer_returns_the_counts_and_leaves_nothing_of_them(eraser, ada, grace):
    response = eraser.post("/api/v1/customers/customer-ada/erase")

    assert response.status_code == 200
    body = response.json()
    assert (body["erased"], body["already_erased"]) == (True, False)
    assert body["counts"]["conversations"] == 1 and body["counts"]["visitors"] == 1
    stored = everything_stored()
    assert ada.message not in stored and ada.note not in stored
    assert grace.message in stored
    entry = AuditEntry.objects.get(action="data_erased")
    assert (entry.actor_kind, entry.target_id) == ("api_key", str(ada.visitor.pk))


def test_erasing_again_answers_that_it_was_erased_and_changes_nothing(eraser, ada):
    assert eraser.post(f"/api/v1/visitors/{ada.visitor.pk}/erase").status_code == 200
    before = row_counts()

    by_id = eraser.post(f"/api/v1/visitors/{ada.visitor.pk}/erase")
    by_user_id = eraser.post("/api/v1/customers/customer-ada/erase")

    for response in (by_id, by_user_id):
        assert response.status_code == 200
        assert response.json() == {"erased": True, "already_erased": True, "counts": {}}
    assert row_counts() == before


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/visitors/6f1c2a52-0000-4000-8000-000000000000/erase",
        "/api/v1/visitors/not-a-visitor/erase",
        "/api/v1/customers/customer-nobody/erase",
    ],
)
def test_erasing_an_unknown_subject_is_not_found_and_changes_nothing(eraser, ada, path):
    before = row_counts()

    response = eraser.post(path)

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert row_counts() == before
    assert Conversation.objects.filter(pk=ada.conversation.pk).exists()


def test_an_export_key_cannot_erase(exporter, ada):
    response = exporter.post(f"/api/v1/visitors/{ada.visitor.pk}/erase")

    assert response.status_code == 403
    assert Visitor.objects.filter(pk=ada.visitor.pk).exists()
    assert not AuditEntry.objects.filter(action="data_erased").exists()
