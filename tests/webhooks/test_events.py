"""Each event is written by the real action that causes it, in that action's transaction."""

import pytest

from chatbot import actions
from chatbot.nlu import promotion
from chatbot.webhooks.events import EVENT_TYPES
from chatbot.webhooks.models import Delivery, WebhookEvent
from handoff import actions as handoff_actions
from handoff.models import Handoff
from knowledge import actions as knowledge_actions
from tests.handoff.conftest import new_agent
from tests.webhooks.conftest import subscribe

pytestmark = pytest.mark.django_db


class Desk:
    """A visitor's conversation and Anna, an agent online for cards."""

    def __init__(self) -> None:
        self.anna = new_agent("anna")
        self.conversation = None
        self.handoff = None

    def start(self):
        self.conversation = actions.open_conversation(actions.create_visitor().pk)

    def message(self):
        actions.record_visitor_message(self.conversation.pk, "c-1", "my card was stolen")

    def request(self):
        self.handoff = handoff_actions.request_handoff(self.conversation.pk, "requested")

    def accept(self):
        handoff_actions.accept(self.handoff.pk, self.anna)

    def close(self):
        handoff_actions.close(self.handoff.pk, self.anna, "resolved")

    def rate(self):
        handoff_actions.rate(self.conversation.pk, 5)

    def leave_ticket(self):
        Handoff.objects.filter(pk=self.handoff.pk).update(status=Handoff.Status.UNAVAILABLE)
        handoff_actions.leave_message(self.conversation.pk, "call me", "ada@example.com")

    def change_knowledge(self):
        knowledge_actions.create_node({"key": "product:spare", "type": "product", "label": "S"})

    def promote(self):
        promotion.promote("v2")


# event: (what happens before, the action that causes it, what its data must say)
CASES = {
    "conversation.started": ([], "start", {}),
    "message.created": (["start"], "message", {"author": "visitor", "text": "my card was stolen"}),
    "handoff.requested": (["start"], "request", {"reason": "requested", "status": "waiting"}),
    "handoff.accepted": (["start", "request"], "accept", {"agent_name": "Anna"}),
    "handoff.closed": (
        ["start", "request", "accept"],
        "close",
        {"status": "closed", "disposition": "resolved"},
    ),
    "ticket.created": (["start", "request"], "leave_ticket", {"text": "call me"}),
    "rating.submitted": (
        ["start", "request", "accept", "close"],
        "rate",
        {"score": 5, "was_human_handled": True},
    ),
    "knowledge.changed": ([], "change_knowledge", {}),
    "model.promoted": ([], "promote", {"version": "v2", "previous": "v1"}),
}


def test_every_event_type_has_a_case():
    assert set(CASES) == set(EVENT_TYPES)


@pytest.mark.parametrize("event_type", list(CASES))
def test_the_real_action_writes_its_event_for_a_subscriber(event_type, models_var_dir):
    before, action, expected = CASES[event_type]
    desk = Desk()
    for step in before:
        getattr(desk, step)()
    subscription = subscribe(events=[event_type])

    getattr(desk, action)()

    delivery = Delivery.objects.select_related("event").get(subscription=subscription)
    assert delivery.event.type == event_type
    assert delivery.sequence == 1 and delivery.status == Delivery.Status.PENDING
    assert expected.items() <= delivery.event.data.items()
    if desk.conversation is not None:
        assert delivery.event.data["conversation_id"] == str(desk.conversation.pk)
        assert delivery.event.ordering_key == f"conversation:{desk.conversation.pk}"
    else:
        assert delivery.event.ordering_key in ("knowledge", "models")


def test_a_subscriber_gets_only_the_events_it_asked_for_numbered_per_conversation():
    messages_only = subscribe(events=["message.created"])
    everything = subscribe()
    first = actions.open_conversation(actions.create_visitor().pk)
    second = actions.open_conversation(actions.create_visitor().pk)

    actions.record_visitor_message(first.pk, "a", "one")
    actions.record_visitor_message(second.pk, "b", "two")
    actions.record_visitor_message(first.pk, "c", "three")

    mine = Delivery.objects.filter(subscription=messages_only).select_related("event", "line")
    assert {d.event.type for d in mine} == {"message.created"}
    assert {(d.line.ordering_key, d.sequence, d.event.data["text"]) for d in mine} == {
        (f"conversation:{first.pk}", 1, "one"),
        (f"conversation:{first.pk}", 2, "three"),
        (f"conversation:{second.pk}", 1, "two"),
    }
    theirs = Delivery.objects.filter(subscription=everything, line__ordering_key__contains=first.pk)
    assert [d.event.type for d in theirs.order_by("sequence")] == [
        "conversation.started",
        "message.created",
        "message.created",
    ]


def test_a_resent_message_writes_no_second_event():
    subscription = subscribe(events=["message.created"])
    conversation = actions.open_conversation(actions.create_visitor().pk)

    actions.record_visitor_message(conversation.pk, "same", "hello")
    _, duplicate = actions.record_visitor_message(conversation.pk, "same", "hello")

    assert duplicate
    assert Delivery.objects.filter(subscription=subscription).count() == 1


def test_the_bot_replies_of_a_turn_are_written_with_the_turn():
    subscribe(events=["message.created"])
    conversation = actions.open_conversation(actions.create_visitor().pk)
    visitor, _ = actions.record_visitor_message(conversation.pk, "v", "hi")

    actions.complete_turn(
        conversation.pk, visitor.pk, [("Hello!", {}), ("How can I help?", {})], {}
    )

    texts = [e.data["text"] for e in WebhookEvent.objects.order_by("pk")]
    assert texts == ["hi", "Hello!", "How can I help?"]


def test_without_subscribers_or_when_the_change_rolls_back_nothing_is_written():
    actions.open_conversation(actions.create_visitor().pk)
    assert not WebhookEvent.objects.exists()

    subscribe(events=["rating.submitted"])
    conversation = actions.open_conversation(actions.create_visitor().pk)
    with pytest.raises(handoff_actions.HandoffError):
        handoff_actions.rate(conversation.pk, 5)  # not closed: refused

    assert not WebhookEvent.objects.exists()
    assert not Delivery.objects.exists()


def test_a_paused_subscription_gets_no_new_deliveries():
    subscription = subscribe(events=["conversation.started"], is_active=False)

    actions.open_conversation(actions.create_visitor().pk)

    assert not Delivery.objects.filter(subscription=subscription).exists()
