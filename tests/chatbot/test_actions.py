"""Writes to the event log: sequence numbers, idempotency, append-only."""

import pytest

from chatbot import actions
from chatbot.models import Event


@pytest.fixture
def conversation(db):
    return actions.open_conversation(actions.create_visitor().pk)


def test_events_get_consecutive_sequence_numbers(conversation):
    first, _ = actions.record_visitor_message(conversation.pk, "a", "one")
    bot = actions.append_event(conversation.pk, kind="message", author="bot", text="two")

    conversation.refresh_from_db()
    assert (first.seq, bot.seq, conversation.last_seq) == (2, 3, 3)


def test_a_resent_message_returns_the_stored_one(conversation):
    stored, _ = actions.record_visitor_message(conversation.pk, "a", "one")

    again, is_duplicate = actions.record_visitor_message(conversation.pk, "a", "changed text")

    assert is_duplicate and again.pk == stored.pk and again.text == "one"
    assert Event.objects.filter(conversation=conversation).count() == 2


def test_a_client_id_is_unique_per_conversation_not_globally(conversation):
    other = actions.open_conversation(actions.create_visitor().pk)

    _, first_duplicate = actions.record_visitor_message(conversation.pk, "same", "hi")
    _, second_duplicate = actions.record_visitor_message(other.pk, "same", "hi")

    assert (first_duplicate, second_duplicate) == (False, False)


def test_an_event_cannot_be_changed(conversation):
    event = conversation.events.get()
    event.text = "rewritten history"

    with pytest.raises(ValueError, match="append-only"):
        event.save()


def test_storing_a_message_takes_a_fixed_number_of_queries(conversation, django_assert_num_queries):
    # Bump last_seq returning it, insert, read the webhook subscriptions (none): the hot path
    # is three statements, plus the savepoint pair the test's own transaction adds.
    with django_assert_num_queries(5):
        actions.record_visitor_message(conversation.pk, "q", "how many queries?")


def test_a_resend_costs_no_sequence_number(conversation):
    actions.record_visitor_message(conversation.pk, "a", "one")

    actions.record_visitor_message(conversation.pk, "a", "one")
    fresh, _ = actions.record_visitor_message(conversation.pk, "b", "two")

    assert fresh.seq == 3


def test_a_deleted_visitor_has_no_conversation(db):
    visitor = actions.create_visitor()
    visitor_id = visitor.pk
    visitor.delete()

    assert actions.open_conversation(visitor_id) is None
