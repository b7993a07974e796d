"""People with data in every table that holds a conversation's content, for the privacy tests."""

from dataclasses import dataclass

import pytest
from django.apps import apps
from django.core import serializers

from chatbot import actions
from chatbot.models import Conversation, Event, Visitor
from chatbot.nlu.models import MessageClassification
from chatbot.webhooks.models import Delivery, DeliveryAttempt
from handoff import actions as handoff_actions
from handoff.models import Agent, Handoff, Note, Rating
from tests.api.conftest import api_client_with  # noqa: F401  (fixture)
from tests.handoff.conftest import new_agent
from tests.webhooks.conftest import subscribe


@dataclass
class Subject:
    """A person and what they and the staff said: each text appears nowhere else."""

    visitor: Visitor
    conversation: Conversation
    handoff: Handoff
    message: str
    answer: str
    ticket: str
    note: str
    name: str
    email: str

    def texts(self) -> list[str]:
        return [self.message, self.answer, self.ticket, self.note, self.name, self.email]


def chat_with_everything(who: str, agent: Agent) -> Subject:
    """An identified customer's closed conversation: a message classified and answered, the
    answer rated, a handoff with a note, a ticket, a rating, and webhook deliveries of it all."""
    message = f"{who} here, my card 4000-{who} was stolen"
    answer = f"Sorry {who}, I have blocked card 4000-{who}"
    ticket = f"please call {who} back on the landline"
    note = f"{who} sounded worried about card 4000-{who}"
    name, email = f"{who.title()} Lovelace", f"{who}@example.com"
    visitor = actions.identified_visitor(f"customer-{who}", name, email)
    conversation = actions.open_conversation(visitor.pk)
    event, _ = actions.record_visitor_message(conversation.pk, f"{who}-1", message)
    MessageClassification.objects.create(
        event=event,
        intent="lost_or_stolen_card",
        confidence=0.9,
        is_low_confidence=False,
        entities=[{"type": "card", "text": f"4000-{who}"}],
        model_version="test",
    )
    understanding = {"status": "ok", "intent": "lost_or_stolen_card", "text": message}
    (reply,) = actions.complete_turn(
        conversation.pk,
        event.pk,
        [(answer, {})],
        {"recent_questions": [message]},
        {"understanding": understanding, "trace": {"decision": "answer"}, "state_diff": {}},
    )
    actions.record_answer_feedback(conversation.pk, reply.seq, "up")
    handoff = handoff_actions.request_handoff(conversation.pk, "requested", "lost_or_stolen_card")
    Note.objects.create(handoff=handoff, author=agent, text=note)
    handoff_actions.leave_message(conversation.pk, ticket, email)
    Handoff.objects.filter(pk=handoff.pk).update(status=Handoff.Status.CLOSED)
    Conversation.objects.filter(pk=conversation.pk).update(owner="closed", status="closed")
    handoff_actions.rate(conversation.pk, 4)
    for delivery in Delivery.objects.filter(event__ordering_key__endswith=str(conversation.pk)):
        DeliveryAttempt.objects.create(
            delivery=delivery,
            is_success=False,
            status_code=500,
            duration_ms=3,
            response_excerpt=f"could not store: {message}",
        )
    handoff.refresh_from_db()
    return Subject(visitor, conversation, handoff, message, answer, ticket, note, name, email)


@pytest.fixture
def agent(db) -> Agent:
    return new_agent("anna", online=False)


@pytest.fixture
def subscription(db):
    return subscribe()


@pytest.fixture
def ada(agent, subscription) -> Subject:
    """Ada, the person whose data is exported or erased."""
    return chat_with_everything("ada", agent)


@pytest.fixture
def grace(agent, subscription) -> Subject:
    """Grace, another customer: nothing done to Ada touches her data."""
    return chat_with_everything("grace", agent)


def everything_stored() -> str:
    """Return every row of every table, serialized: where any stored text can be looked for."""
    return "\n".join(
        serializers.serialize("json", model._default_manager.all())
        for model in apps.get_models()
        if model._meta.managed and not model._meta.proxy
    )


def row_counts() -> dict[str, int]:
    """Return how many rows each table has."""
    return {
        model._meta.label: model._default_manager.count()
        for model in apps.get_models()
        if model._meta.managed and not model._meta.proxy
    }


def events_of(subject: Subject):
    return Event.objects.filter(conversation=subject.conversation)


def rating_of(subject: Subject):
    return Rating.objects.filter(conversation=subject.conversation)
