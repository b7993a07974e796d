"""What goes into the audit trail: transcripts opened, roles and settings changed, by whom."""

import pytest
from channels.db import database_sync_to_async
from django.contrib.auth.models import Group, User
from django.test import Client

from chatbot import actions as chat_actions
from chatbot.audit.models import AuditEntry
from chatbot.staff_users import add_staff_user
from handoff import actions as handoff_actions
from handoff.models import CannedReply, Ticket
from knowledge.roles import editors_group
from tests.handoff.conftest import new_agent
from tests.handoff.console_client import ConsoleClient, session_cookie

pytestmark = pytest.mark.django_db


@pytest.fixture
def conversation():
    conversation = chat_actions.open_conversation(chat_actions.create_visitor().pk)
    chat_actions.record_visitor_message(conversation.pk, "c-1", "my card was stolen")
    return conversation


def entries(action: str) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(action=action).order_by("id"))


def test_making_a_staff_user_records_their_role(db):
    editor = add_staff_user("eve", "eve-password", "editor")

    changes = [
        (entry.target_id, entry.details)
        for entry in entries("role_changed")
        if entry.target_type == "user"
    ]
    assert changes == [
        (str(editor.pk), {"flags": {"is_staff": True}}),
        (str(editor.pk), {"groups_added": [editors_group().name]}),
    ]
    assert {entry.actor_kind for entry in entries("role_changed")} == {"system"}


def test_an_admin_giving_a_user_a_group_in_the_admin_is_recorded_as_theirs(
    admin_client, admin_user
):
    bob = User.objects.create_user("bob", password="bob-password")
    group = editors_group()
    before = AuditEntry.objects.count()

    response = admin_client.post(
        f"/admin/auth/user/{bob.pk}/change/",
        {
            "username": "bob",
            "is_active": "on",
            "is_staff": "on",
            "groups": [group.pk],
            "date_joined_0": "2026-01-01",
            "date_joined_1": "00:00:00",
            "initial-date_joined_0": "2026-01-01",
            "initial-date_joined_1": "00:00:00",
        },
    )

    assert response.status_code == 302
    new = list(AuditEntry.objects.order_by("id")[before:])
    roles = [entry for entry in new if entry.action == "role_changed"]
    assert {str(entry.details) for entry in roles} == {
        str({"flags": {"is_staff": True}}),
        str({"groups_added": [group.name]}),
    }
    assert {(entry.actor_name, entry.target_id) for entry in roles} == {("admin", str(bob.pk))}
    setting = [entry for entry in new if entry.action == "setting_changed"]
    assert [(entry.target_type, entry.target_id, entry.details["change"]) for entry in setting] == [
        ("auth.user", str(bob.pk), "changed")
    ]
    assert set(setting[0].details["fields"]) >= {"Staff status", "Groups"}


def test_removing_a_group_and_a_permission_is_recorded(db):
    carol = User.objects.create_user("carol")
    group = Group.objects.create(name="auditors")
    carol.groups.add(group)

    carol.groups.clear()

    removed = [entry.details for entry in entries("role_changed")]
    assert removed == [{"groups_added": ["auditors"]}, {"groups_removed": ["auditors"]}]


def test_saving_a_user_without_changing_a_role_records_nothing(db):
    dave = User.objects.create_user("dave")

    dave.first_name = "Dave"
    dave.save()
    dave.save(update_fields=["last_login"])

    assert entries("role_changed") == []


def test_a_setting_changed_in_the_admin_is_recorded_with_its_field_names_only(admin_client):
    reply = CannedReply.objects.create(title="Hello", text="Hello, how can I help?")

    admin_client.post(
        f"/admin/handoff/cannedreply/{reply.pk}/change/",
        {"title": "Hello", "text": "Good morning, how can I help?"},
    )

    [entry] = entries("setting_changed")
    assert (entry.actor_name, entry.target_type, entry.target_id) == (
        "admin",
        "handoff.cannedreply",
        str(reply.pk),
    )
    assert entry.details == {"change": "changed", "fields": ["Text"]}
    assert "Good morning" not in str(entry.details)


def test_opening_a_conversation_in_the_admin_is_recorded(admin_client, conversation):
    response = admin_client.get(f"/admin/chatbot/conversation/{conversation.pk}/change/")

    assert response.status_code == 200
    [entry] = entries("transcript_opened")
    assert (entry.actor_name, entry.target_type, entry.target_id, entry.details) == (
        "admin",
        "conversation",
        str(conversation.pk),
        {"via": "admin"},
    )


def test_listing_conversations_in_the_admin_opens_no_transcript(admin_client, conversation):
    admin_client.get("/admin/chatbot/conversation/")

    assert entries("transcript_opened") == []


def test_an_agent_reading_a_packet_is_recorded_and_a_refused_read_is_not(conversation):
    anna = new_agent("anna")
    carl = new_agent("carl", skills=("payments",))
    handoff = handoff_actions.request_handoff(conversation.pk, "requested", "lost_or_stolen_card")
    handoff_actions.accept(handoff.pk, anna)
    anna_client, carl_client = Client(), Client()
    anna_client.force_login(anna.user)
    carl_client.force_login(carl.user)

    refused = carl_client.get(f"/console/api/handoffs/{handoff.pk}")
    read = anna_client.get(f"/console/api/handoffs/{handoff.pk}")

    assert (refused.status_code, read.status_code) == (404, 200)
    [entry] = entries("transcript_opened")
    assert (entry.actor_name, entry.target_id, entry.details) == (
        "anna",
        str(conversation.pk),
        {"handoff": handoff.pk, "via": "console"},
    )


@pytest.mark.websocket
@pytest.mark.django_db(transaction=True)
async def test_the_console_showing_an_assigned_conversation_is_recorded():
    conversation = await database_sync_to_async(chat_actions.open_conversation)(
        (await database_sync_to_async(chat_actions.create_visitor)()).pk
    )
    anna = await database_sync_to_async(new_agent)("anna")
    handoff = await database_sync_to_async(handoff_actions.request_handoff)(
        conversation.pk, "requested", "lost_or_stolen_card"
    )
    await database_sync_to_async(handoff_actions.accept)(handoff.pk, anna)
    console = ConsoleClient(await database_sync_to_async(session_cookie)(anna.user))

    connected, _ = await console.connect()
    await console.receive_until("assigned")
    await console.close()

    assert connected
    [entry] = await database_sync_to_async(entries)("transcript_opened")
    assert (entry.actor_name, entry.target_id, entry.details) == (
        "anna",
        str(conversation.pk),
        {"handoff": handoff.pk, "via": "console"},
    )


def test_reading_events_a_packet_or_a_ticket_through_the_api_is_recorded_as_the_keys(
    api_client_with, conversation
):
    api = api_client_with("conversations:read", "handoffs:read", name="crm")
    handoff = handoff_actions.request_handoff(conversation.pk, "requested")
    ticket = Ticket.objects.create(conversation=conversation, contact="x@example.com", text="hi")

    api.get(f"/api/v1/conversations/{conversation.pk}/events")
    api.get(f"/api/v1/handoffs/{handoff.pk}")
    api.get(f"/api/v1/tickets/{ticket.pk}")
    api.get("/api/v1/conversations")

    opened = entries("transcript_opened")
    assert [(entry.actor_kind, entry.actor_id, entry.target_id) for entry in opened] == [
        ("api_key", str(api.api_key.pk), str(conversation.pk))
    ] * 3
    assert [entry.details for entry in opened] == [
        {"via": "api", "after_seq": 0},
        {"via": "api", "handoff": handoff.pk},
        {"via": "api", "ticket": ticket.pk},
    ]


def test_a_key_reads_the_trail_filtered_by_action(api_client_with, conversation):
    api = api_client_with("audit:read", "conversations:read")
    api.get(f"/api/v1/conversations/{conversation.pk}/events")
    add_staff_user("eve", "eve-password", "editor")

    response = api.get("/api/v1/audit-entries", {"action": "transcript_opened"})

    assert response.status_code == 200
    assert [(row["action"], row["target_id"]) for row in response.json()["results"]] == [
        ("transcript_opened", str(conversation.pk))
    ]


def test_a_key_without_the_audit_scope_cannot_read_the_trail(api_client_with):
    response = api_client_with("conversations:read").get("/api/v1/audit-entries")

    assert response.status_code == 403


def test_only_administrators_see_the_trail_in_the_admin_and_nobody_can_change_it(
    admin_client, admin_user
):
    editor = add_staff_user("eve", "eve-password", "editor")
    editor_client = Client()
    editor_client.force_login(editor)
    entry = AuditEntry.objects.filter(action="role_changed").first()

    listed = admin_client.get("/admin/audit/auditentry/", {"action__exact": "role_changed"})
    opened = admin_client.get(f"/admin/audit/auditentry/{entry.pk}/change/")
    changed = admin_client.post(f"/admin/audit/auditentry/{entry.pk}/change/", {"action": "x"})
    deleted = admin_client.post(f"/admin/audit/auditentry/{entry.pk}/delete/", {"post": "yes"})
    added = admin_client.get("/admin/audit/auditentry/add/")
    by_editor = editor_client.get("/admin/audit/auditentry/")

    assert (listed.status_code, opened.status_code) == (200, 200)
    assert (changed.status_code, deleted.status_code, added.status_code) == (403, 403, 403)
    assert by_editor.status_code in (302, 403)
    assert AuditEntry.objects.get(pk=entry.pk).action == "role_changed"
