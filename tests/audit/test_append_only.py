"""The audit trail keeps what it was given: entries are added, never changed or removed."""

import pytest
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.db.utils import DatabaseError
from django.test import RequestFactory

from chatbot.audit import actions
from chatbot.audit.models import AppendOnlyError, AuditEntry

pytestmark = [pytest.mark.django_db, pytest.mark.databases]


@pytest.fixture
def alice():
    return get_user_model().objects.create_user("alice", password="unused-here")


def test_an_entry_names_the_user_the_target_and_the_address(alice):
    request = RequestFactory().get("/console/", REMOTE_ADDR="203.0.113.9")
    request.user = alice

    entry = actions.record(
        actions.TRANSCRIPT_OPENED, request=request, target_type="conversation", target_id=42
    )

    stored = AuditEntry.objects.get(pk=entry.pk)
    assert (stored.actor_kind, stored.actor_id, stored.actor_name) == (
        "staff",
        str(alice.pk),
        "alice",
    )
    assert (stored.action, stored.target_type, stored.target_id) == (
        "transcript_opened",
        "conversation",
        "42",
    )
    assert stored.ip_address == "203.0.113.9"


def test_without_a_user_or_key_the_platform_is_the_actor():
    entry = actions.record(actions.RETENTION_PURGED, details={"messages": 3})

    assert (entry.actor_kind, entry.actor_name, entry.details) == ("system", "", {"messages": 3})


def test_the_application_can_neither_change_nor_remove_an_entry(alice):
    entry = actions.record(actions.SIGN_IN, user=alice)

    entry.action = "nothing_happened"
    with pytest.raises(AppendOnlyError):
        entry.save()
    with pytest.raises(AppendOnlyError):
        entry.delete()
    with pytest.raises(AppendOnlyError):
        AuditEntry.objects.filter(pk=entry.pk).update(action="nothing_happened")
    with pytest.raises(AppendOnlyError):
        AuditEntry.objects.all().delete()

    assert AuditEntry.objects.get(pk=entry.pk).action == "sign_in"


def test_on_postgresql_the_table_refuses_changes_made_in_sql(alice):
    if connection.vendor != "postgresql":
        pytest.skip("the table's own triggers are PostgreSQL's; this runs in the services run")
    entry = actions.record(actions.SIGN_IN, user=alice)

    for statement in (
        "UPDATE audit_auditentry SET action = 'nothing_happened' WHERE id = %s",
        "DELETE FROM audit_auditentry WHERE id = %s",
    ):
        with (
            pytest.raises(DatabaseError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(statement, [entry.pk])

    assert AuditEntry.objects.get(pk=entry.pk).action == "sign_in"
