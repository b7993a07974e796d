"""Administrators export and erase a visitor's data in the admin; nobody else can."""

import json

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client

from chatbot.audit.models import AuditEntry
from chatbot.models import Conversation, Visitor
from knowledge.roles import editors_group
from tests.privacy.conftest import row_counts

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/chatbot/visitor/"


def run_action(client: Client, action: str, *visitors, follow: bool = False, **extra):
    selected = [str(visitor.pk) for visitor in visitors]
    return client.post(
        CHANGELIST, {"action": action, "_selected_action": selected, **extra}, follow=follow
    )


def logged_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def staff_who_may_view_visitors(db) -> User:
    """Staff with the visitor list in the admin, but not an administrator."""
    user = User.objects.create_user("vera", password="vera-password", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_visitor"))
    return user


@pytest.fixture
def editor(db) -> User:
    user = User.objects.create_user("edith", password="edith-password", is_staff=True)
    user.groups.add(editors_group())
    return user


def test_an_administrator_downloads_one_visitors_data_as_json(admin_client, ada, grace):
    response = run_action(admin_client, "export_data", ada.visitor)

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response["Content-Disposition"] == (
        f'attachment; filename="visitor-{ada.visitor.pk}.json"'
    )
    data = json.loads(response.content)
    assert data["visitor"]["id"] == str(ada.visitor.pk)
    assert grace.message not in response.content.decode()
    entry = AuditEntry.objects.get(action="data_exported")
    assert (entry.actor_name, entry.target_id) == ("admin", str(ada.visitor.pk))


def test_exporting_several_visitors_at_once_is_refused(admin_client, ada, grace):
    response = run_action(admin_client, "export_data", ada.visitor, grace.visitor, follow=True)

    assert "Select exactly one visitor to export." in response.content.decode()
    assert not AuditEntry.objects.filter(action="data_exported").exists()


def test_erasing_asks_first_and_changes_nothing_until_confirmed(admin_client, ada):
    before = row_counts()

    page = run_action(admin_client, "erase_data", ada.visitor)

    assert page.status_code == 200
    html = page.content.decode()
    assert "Erase these people&#x27;s data?" in html or "Erase these people's data?" in html
    assert str(ada.visitor) in html
    assert 'name="confirmed" value="yes"' in html
    assert "<script>" not in html and "style=" not in html  # the site's CSP: no inline code
    assert row_counts() == before


def test_once_confirmed_the_visitors_data_is_erased_and_recorded(admin_client, ada, grace):
    response = run_action(admin_client, "erase_data", ada.visitor, confirmed="yes", follow=True)

    assert response.status_code == 200
    assert "Erased the data of 1 visitor(s)" in response.content.decode()
    assert not Visitor.objects.filter(pk=ada.visitor.pk).exists()
    assert not Conversation.objects.filter(pk=ada.conversation.pk).exists()
    assert Visitor.objects.filter(pk=grace.visitor.pk).exists()
    entry = AuditEntry.objects.get(action="data_erased")
    assert (entry.actor_name, entry.target_id) == ("admin", str(ada.visitor.pk))


@pytest.mark.parametrize(
    ("who", "answer"),
    [
        # Sent to their own page: the admin has nothing for them.
        ("agent", (302, "/console/")),
        ("editor", (302, "/knowledge/")),
        # The visitor list again, the action not run: it is not theirs to choose.
        ("staff_who_may_view_visitors", (200, None)),
    ],
)
def test_nobody_but_an_administrator_exports_or_erases(request, who, answer, ada):
    user = request.getfixturevalue(who)
    client = logged_in(getattr(user, "user", user))
    before = row_counts()

    exported = run_action(client, "export_data", ada.visitor)
    erased = run_action(client, "erase_data", ada.visitor, confirmed="yes")

    for response in (exported, erased):
        assert (response.status_code, response.get("Location")) == answer
        assert response.get("Content-Disposition") is None
    assert row_counts() == before
    assert not AuditEntry.objects.filter(action__in=["data_exported", "data_erased"]).exists()


def test_the_actions_are_offered_to_administrators_only(
    admin_client, staff_who_may_view_visitors, ada
):
    offered = admin_client.get(CHANGELIST).content.decode()
    not_offered = logged_in(staff_who_may_view_visitors).get(CHANGELIST).content.decode()

    assert 'value="export_data"' in offered and 'value="erase_data"' in offered
    assert "export_data" not in not_offered and "erase_data" not in not_offered


def test_the_admin_offers_no_plain_delete_that_would_bypass_erasure(admin_client, ada):
    page = admin_client.get(CHANGELIST).content.decode()
    deleted = admin_client.post(f"/admin/chatbot/visitor/{ada.visitor.pk}/delete/", {"post": "yes"})
    conversation_deleted = admin_client.post(
        f"/admin/chatbot/conversation/{ada.conversation.pk}/delete/", {"post": "yes"}
    )

    assert 'value="delete_selected"' not in page
    assert deleted.status_code == conversation_deleted.status_code == 403
    assert Visitor.objects.filter(pk=ada.visitor.pk).exists()
    assert Conversation.objects.filter(pk=ada.conversation.pk).exists()
