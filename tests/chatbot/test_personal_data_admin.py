"""The admin shows messages masked; a role that may reveal personal data reads an original
through an explicit step that is audited, and anyone else is refused with nothing revealed."""

import pytest
from django.contrib.auth.models import Permission, User

from chatbot import actions
from chatbot.audit.actions import PERSONAL_DATA_REVEALED
from chatbot.audit.models import AuditEntry

TYPED = "my IBAN is GB82 WEST 1234 5698 7654 32, thanks"
MASKED = "my IBAN is [IBAN], thanks"

pytestmark = pytest.mark.django_db


@pytest.fixture
def kept_message(settings):
    settings.PERSONAL_DATA_STORAGE = "keep"
    conversation = actions.open_conversation(actions.create_visitor().pk)
    event, _ = actions.record_visitor_message(conversation.pk, "c-1", TYPED)
    return event


def reveal_url(event) -> str:
    return f"/admin/chatbot/conversation/{event.conversation_id}/reveal/{event.seq}/"


def test_the_conversation_page_shows_the_masked_text_and_a_reveal_link(admin_client, kept_message):
    page = admin_client.get(
        f"/admin/chatbot/conversation/{kept_message.conversation_id}/change/"
    ).content.decode()

    assert MASKED in page and "GB82" not in page
    assert reveal_url(kept_message) in page


def test_asking_to_reveal_reveals_nothing_until_it_is_confirmed(admin_client, kept_message):
    page = admin_client.get(reveal_url(kept_message)).content.decode()

    assert "Reveal the original" in page and "GB82" not in page
    assert not AuditEntry.objects.filter(action=PERSONAL_DATA_REVEALED).exists()


def test_an_admin_who_confirms_reads_the_original_and_the_reading_is_audited(
    admin_client, admin_user, kept_message
):
    page = admin_client.post(reveal_url(kept_message)).content.decode()

    assert TYPED in page
    (entry,) = AuditEntry.objects.filter(action=PERSONAL_DATA_REVEALED)
    assert (entry.actor_name, entry.target_type, entry.target_id) == (
        admin_user.username,
        "event",
        str(kept_message.pk),
    )
    assert entry.details["kinds"] == ["iban"] and "GB82" not in str(entry.details)


def test_a_staff_user_without_the_permission_is_refused_and_nothing_is_audited(
    client, kept_message
):
    staff = User.objects.create_user("sam", password="x", is_staff=True)
    staff.user_permissions.add(
        Permission.objects.get(codename="view_conversation"),
        Permission.objects.get(codename="view_event"),
    )
    client.force_login(staff)

    page = client.get(f"/admin/chatbot/conversation/{kept_message.conversation_id}/change/")
    refused = client.post(reveal_url(kept_message))

    assert page.status_code == 200 and MASKED in page.content.decode()
    assert reveal_url(kept_message) not in page.content.decode()
    assert refused.status_code == 403 and "GB82" not in refused.content.decode()
    assert not AuditEntry.objects.filter(action=PERSONAL_DATA_REVEALED).exists()


def test_a_role_given_the_permission_may_reveal(client, kept_message):
    staff = User.objects.create_user("rita", password="x", is_staff=True)
    staff.user_permissions.add(
        Permission.objects.get(codename="view_conversation"),
        Permission.objects.get(codename="reveal_personal_data"),
    )
    client.force_login(staff)

    page = client.post(reveal_url(kept_message)).content.decode()

    assert TYPED in page
    assert AuditEntry.objects.filter(action=PERSONAL_DATA_REVEALED, actor_name="rita").count() == 1


def test_a_message_whose_original_was_not_kept_has_nothing_to_reveal(admin_client, settings):
    settings.PERSONAL_DATA_STORAGE = "mask"
    conversation = actions.open_conversation(actions.create_visitor().pk)
    event, _ = actions.record_visitor_message(conversation.pk, "c-1", TYPED)

    response = admin_client.post(reveal_url(event))

    assert response.status_code == 404
    assert not AuditEntry.objects.filter(action=PERSONAL_DATA_REVEALED).exists()
