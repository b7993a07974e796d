"""Each retention period purges what is older than it and keeps the rest; purges are recorded."""

import datetime

import pytest
from django.utils import timezone

from chatbot import actions as chat_actions
from chatbot.audit.models import AuditEntry
from chatbot.models import AnswerFeedback, Conversation, Event, Turn, Visitor
from chatbot.nlu.models import MessageClassification
from chatbot.privacy import actions, retention
from chatbot.webhooks.models import Delivery, WebhookEvent
from handoff.models import Handoff, Rating, Ticket
from tests.privacy.conftest import chat_with_everything

pytestmark = [pytest.mark.django_db, pytest.mark.databases]

NOW = timezone.now()
DAY = datetime.timedelta(days=1)


@pytest.fixture
def periods(settings):
    """Short periods, each its own length, so each test sees one kind go."""
    settings.RETENTION_TRANSCRIPT_DAYS = 100
    settings.RETENTION_TICKET_DAYS = 60
    settings.RETENTION_RATING_DAYS = 40
    settings.RETENTION_TURN_LOG_DAYS = 20
    settings.RETENTION_WEBHOOK_DAYS = 10
    return settings


def age(subject, days: int) -> None:
    """Make every row of the subject's conversation as old as `days` days."""
    then = NOW - days * DAY
    conversation = subject.conversation
    Visitor.objects.filter(pk=subject.visitor.pk).update(created_at=then)
    Conversation.objects.filter(pk=conversation.pk).update(created_at=then)
    Event.objects.filter(conversation=conversation).update(created_at=then)
    Turn.objects.filter(conversation=conversation).update(created_at=then)
    MessageClassification.objects.filter(event__conversation=conversation).update(created_at=then)
    AnswerFeedback.objects.filter(answer__conversation=conversation).update(updated_at=then)
    Ticket.objects.filter(conversation=conversation).update(created_at=then)
    Rating.objects.filter(conversation=conversation).update(created_at=then)
    WebhookEvent.objects.filter(ordering_key=f"conversation:{conversation.pk}").update(
        created_at=then
    )


@pytest.fixture
def old(agent, subscription):
    return chat_with_everything("old", agent)


@pytest.fixture
def recent(agent, subscription):
    return chat_with_everything("recent", agent)


def test_a_conversation_quiet_for_longer_than_the_transcript_period_goes_whole(
    periods, old, recent
):
    age(old, 101)
    age(recent, 99)
    old_events = Event.objects.filter(conversation=old.conversation).count()

    counts = actions.purge_expired(NOW)

    assert not Conversation.objects.filter(pk=old.conversation.pk).exists()
    assert not Visitor.objects.filter(pk=old.visitor.pk).exists()
    assert not Ticket.objects.filter(text=old.ticket).exists()
    assert Conversation.objects.filter(pk=recent.conversation.pk).exists()
    assert Visitor.objects.filter(pk=recent.visitor.pk).exists()
    assert counts["transcripts"]["conversations"] == 1
    assert counts["transcripts"]["visitors"] == 1
    assert counts["transcripts"]["events"] == old_events


def test_an_old_conversation_still_active_is_kept_with_all_its_history(periods, old):
    age(old, 300)
    Conversation.objects.filter(pk=old.conversation.pk).update(status="open", owner="bot")
    # The visitor came back yesterday and wrote again.
    event, _ = chat_actions.record_visitor_message(old.conversation.pk, "back", "me again")
    Event.objects.filter(pk=event.pk).update(created_at=NOW - DAY)
    events = set(Event.objects.filter(conversation=old.conversation).values_list("pk", flat=True))

    counts = actions.purge_expired(NOW)

    kept = set(Event.objects.filter(conversation=old.conversation).values_list("pk", flat=True))
    assert kept == events
    assert Visitor.objects.filter(pk=old.visitor.pk).exists()
    assert "conversations" not in counts["transcripts"]


def test_a_quiet_conversation_a_person_still_holds_is_kept(periods, old):
    age(old, 300)
    Handoff.objects.filter(pk=old.handoff.pk).update(status=Handoff.Status.WAITING)

    actions.purge_expired(NOW)

    assert Conversation.objects.filter(pk=old.conversation.pk).exists()


def test_tickets_older_than_their_period_go_and_their_conversation_stays(periods, old, recent):
    age(old, 61)
    age(recent, 59)

    counts = actions.purge_expired(NOW)

    assert not Ticket.objects.filter(text=old.ticket).exists()
    assert Ticket.objects.filter(text=recent.ticket).exists()
    assert Conversation.objects.filter(pk=old.conversation.pk).exists()
    assert counts["tickets"] == {"tickets": 1, "unresolved_tickets": 1}


def test_ratings_older_than_their_period_go(periods, old, recent):
    age(old, 41)
    age(recent, 39)

    counts = actions.purge_expired(NOW)

    assert not Rating.objects.filter(conversation=old.conversation).exists()
    assert not AnswerFeedback.objects.filter(answer__conversation=old.conversation).exists()
    assert Rating.objects.filter(conversation=recent.conversation).exists()
    assert AnswerFeedback.objects.filter(answer__conversation=recent.conversation).exists()
    assert counts["ratings"] == {"ratings": 1, "answer_feedback": 1}
    assert Ticket.objects.filter(text=old.ticket).exists()


def test_old_turn_logs_are_emptied_and_their_messages_stay_answered(periods, old, recent):
    age(old, 21)
    age(recent, 19)

    counts = actions.purge_expired(NOW)

    old_turn = Turn.objects.get(conversation=old.conversation)
    assert (old_turn.state, old_turn.state_diff, old_turn.understanding, old_turn.trace) == (
        {},
        {},
        {},
        {},
    )
    assert not old.conversation.unanswered_messages().exists()
    assert not MessageClassification.objects.filter(event__conversation=old.conversation).exists()
    recent_turn = Turn.objects.get(conversation=recent.conversation)
    assert recent_turn.trace == {"decision": "answer"}
    assert MessageClassification.objects.filter(event__conversation=recent.conversation).exists()
    assert counts["turn_logs"] == {"classifications": 1, "turn_logs_emptied": 1}
    # Emptied once: the next purge finds nothing more to do.
    assert actions.purge_expired(NOW)["turn_logs"] == {}


def test_the_webhook_outbox_lets_old_finished_events_go_and_keeps_those_still_to_send(
    periods, old, recent
):
    age(old, 11)
    age(recent, 9)
    old_events = WebhookEvent.objects.filter(ordering_key=f"conversation:{old.conversation.pk}")
    waiting = old_events.first()
    finished = old_events.count() - 1
    Delivery.objects.exclude(event=waiting).update(status=Delivery.Status.DELIVERED)
    recent_events = WebhookEvent.objects.filter(
        ordering_key=f"conversation:{recent.conversation.pk}"
    )
    recent_before = recent_events.count()

    counts = actions.purge_expired(NOW)

    assert list(old_events) == [waiting]
    assert recent_events.count() == recent_before
    assert counts["webhooks"]["webhook_events"] == finished


def test_a_period_of_forever_purges_nothing_of_its_kind(periods, old):
    periods.RETENTION_TRANSCRIPT_DAYS = None
    periods.RETENTION_TICKET_DAYS = None
    age(old, 10_000)

    counts = actions.purge_expired(NOW)

    assert Conversation.objects.filter(pk=old.conversation.pk).exists()
    assert Ticket.objects.filter(text=old.ticket).exists()
    assert set(counts) == {"ratings", "turn_logs", "webhooks"}


def test_every_purge_is_recorded_with_its_counts_and_periods_only(periods, old):
    age(old, 101)

    counts = actions.purge_expired(NOW)

    entry = AuditEntry.objects.get(action="retention_purged")
    assert entry.actor_kind == "system"
    assert entry.details["counts"] == counts
    assert entry.details["periods"] == {
        "transcripts": 100,
        "tickets": 60,
        "ratings": 40,
        "turn_logs": 20,
        "webhooks": 10,
    }
    for text in old.texts():
        assert text not in str(entry.details)


def test_a_purge_goes_batch_by_batch_and_tells_its_progress(periods, monkeypatch, agent):
    monkeypatch.setattr(retention, "BATCH", 1)
    people = [chat_with_everything(who, agent) for who in ("ann", "bob", "cy")]
    for person in people:
        age(person, 101)
    told = []

    counts = actions.purge_expired(
        NOW, progress=lambda kind, so_far: told.append((kind, dict(so_far)))
    )

    assert counts["transcripts"]["conversations"] == counts["transcripts"]["visitors"] == 3
    assert not Conversation.objects.exists() and not Visitor.objects.exists()
    transcripts = [so_far for kind, so_far in told if kind == "transcripts"]
    assert [so_far["conversations"] for so_far in transcripts[:3]] == [1, 2, 3]
    assert transcripts[-1] == counts["transcripts"]


def test_turn_logs_are_emptied_batch_by_batch(periods, monkeypatch, old, recent):
    monkeypatch.setattr(retention, "BATCH", 1)
    age(old, 21)
    age(recent, 21)

    counts = actions.purge_expired(NOW)

    assert counts["turn_logs"] == {"classifications": 2, "turn_logs_emptied": 2}
    assert not Turn.objects.exclude(trace={}).exists()
