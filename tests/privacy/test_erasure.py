"""Erasure removes a person's content from every table and leaves a content-free audit entry."""

import json

import pytest

from chatbot.audit.models import AuditEntry
from chatbot.models import AnswerFeedback, Conversation, Event, Turn, Visitor
from chatbot.nlu.models import MessageClassification
from chatbot.privacy import actions, subjects
from chatbot.webhooks.models import Delivery, DeliveryAttempt, DeliveryLine, WebhookEvent
from handoff.models import Handoff, Note, Rating, Ticket
from tests.privacy.conftest import everything_stored, row_counts

pytestmark = [pytest.mark.django_db, pytest.mark.databases]


def rows_of(subject) -> dict[str, int]:
    """Count the subject's rows in every table that held them."""
    conversation = subject.conversation
    key = f"conversation:{conversation.pk}"
    return {
        "visitor": Visitor.objects.filter(pk=subject.visitor.pk).count(),
        "conversation": Conversation.objects.filter(pk=conversation.pk).count(),
        "events": Event.objects.filter(conversation=conversation).count(),
        "turns": Turn.objects.filter(conversation=conversation).count(),
        "classifications": MessageClassification.objects.filter(
            event__conversation=conversation
        ).count(),
        "answer_feedback": AnswerFeedback.objects.filter(answer__conversation=conversation).count(),
        "handoffs": Handoff.objects.filter(conversation=conversation).count(),
        "notes": Note.objects.filter(handoff__conversation=conversation).count(),
        "tickets": Ticket.objects.filter(conversation=conversation).count(),
        "ratings": Rating.objects.filter(conversation=conversation).count(),
        "webhook_events": WebhookEvent.objects.filter(ordering_key=key).count(),
        "webhook_deliveries": Delivery.objects.filter(event__ordering_key=key).count(),
        "webhook_attempts": DeliveryAttempt.objects.filter(
            delivery__event__ordering_key=key
        ).count(),
        "webhook_lines": DeliveryLine.objects.filter(ordering_key=key).count(),
    }


def test_erasure_removes_the_persons_content_from_every_table_that_held_it(ada, grace):
    before = rows_of(ada)
    assert all(before.values()), before  # every table held some of Ada's data
    graces_rows = rows_of(grace)

    counts = actions.erase_subject(ada.visitor)

    assert rows_of(ada) == dict.fromkeys(before, 0)
    stored = everything_stored()
    for text in ada.texts():
        assert text not in stored, text
    assert "customer-ada" not in stored
    # Grace's data is untouched.
    assert rows_of(grace) == graces_rows
    for text in grace.texts():
        assert text in stored, text
    assert counts == {
        "visitors": 1,
        "conversations": 1,
        "events": before["events"],
        "turns": 1,
        "classifications": 1,
        "answer_feedback": 1,
        "handoffs": 1,
        "notes": 1,
        "tickets": 1,
        "ratings": 1,
        "webhook_events": before["webhook_events"],
        "webhook_deliveries": before["webhook_deliveries"],
        "webhook_attempts": before["webhook_attempts"],
        "webhook_lines": 1,
    }


def test_erasure_leaves_an_audit_entry_with_ids_and_counts_and_no_content(ada, admin_user):
    conversation_id = str(ada.conversation.pk)

    counts = actions.erase_subject(ada.visitor, user=admin_user)

    entry = AuditEntry.objects.get(action="data_erased")
    assert (entry.actor_name, entry.target_type, entry.target_id) == (
        "admin",
        "visitor",
        str(ada.visitor.pk),
    )
    assert entry.details["counts"] == counts
    assert entry.details["conversation_ids"] == [conversation_id]
    assert entry.details["customer_digest"] == subjects.customer_digest("customer-ada")
    recorded = json.dumps(entry.details) + str(entry)
    for text in [*ada.texts(), "customer-ada", "Ada", "4000-ada"]:
        assert text not in recorded, text


def test_an_erased_subject_is_known_as_erased_and_not_found_any_more(ada, grace):
    visitor_id = str(ada.visitor.pk)

    actions.erase_subject(ada.visitor)

    assert subjects.find_visitor(subjects.VISITOR, visitor_id) is None
    assert subjects.find_visitor(subjects.CUSTOMER, "customer-ada") is None
    assert subjects.was_erased(subjects.VISITOR, visitor_id)
    assert subjects.was_erased(subjects.CUSTOMER, "customer-ada")
    assert not subjects.was_erased(subjects.VISITOR, str(grace.visitor.pk))
    assert not subjects.was_erased(subjects.CUSTOMER, "customer-grace")


def test_erasing_an_unknown_subject_finds_nobody_and_changes_nothing(ada):
    before = row_counts()

    for kind, key in [
        (subjects.VISITOR, "6f1c2a52-0000-4000-8000-000000000000"),
        (subjects.VISITOR, "not-a-uuid"),
        (subjects.CUSTOMER, "customer-nobody"),
    ]:
        assert subjects.find_visitor(kind, key) is None
        assert not subjects.was_erased(kind, key)

    assert row_counts() == before


def test_the_visitors_sockets_and_the_agents_holding_it_are_told_after_the_commit(
    ada, agent, monkeypatch, django_capture_on_commit_callbacks
):
    Handoff.objects.filter(pk=ada.handoff.pk).update(
        status=Handoff.Status.ASSIGNED, assigned_to=agent
    )
    told = []
    monkeypatch.setattr(
        actions.notify, "to_conversation", lambda pk, frame: told.append(("visitor", pk, frame))
    )
    monkeypatch.setattr(
        actions.notify, "to_agent", lambda pk, frame: told.append(("agent", pk, frame))
    )
    monkeypatch.setattr(actions.notify, "to_agents", lambda frame: told.append(("agents", frame)))

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        actions.erase_subject(ada.visitor)
        assert told == []  # nothing before the commit
    for callback in callbacks:
        callback()

    assert ("visitor", ada.conversation.pk, actions.ERASED_FRAME) in told
    assert (
        "agent",
        agent.pk,
        {"type": "released", "handoff_id": ada.handoff.pk, "why": "erased"},
    ) in told
    assert ("agents", {"type": "queue_changed"}) in told
