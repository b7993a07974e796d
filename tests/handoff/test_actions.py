"""The handoff's writes: escalation, offers, the atomic accept, the chat, hand back, close."""

import pytest

from chatbot.models import Conversation, Event
from handoff import actions
from handoff.models import Handoff, Rating
from tests.handoff.conftest import new_agent

# Transactions really commit here: routing and notifications run after the commit.
pytestmark = [
    pytest.mark.databases,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("tasks_in_process"),
]


def events_of(conversation, kind="handoff"):
    return list(Event.objects.filter(conversation=conversation, kind=kind).order_by("seq"))


def test_escalation_puts_the_conversation_in_the_queue_and_offers_it_to_an_able_agent(
    conversation, skills, anna, carl
):
    handoff = actions.request_handoff(conversation.pk, "sensitive_intent", "compromised_card")

    handoff.refresh_from_db()
    conversation.refresh_from_db()
    assert (handoff.status, handoff.skill.name, handoff.offered_to) == ("waiting", "cards", anna)
    assert conversation.owner == "waiting"
    (event,) = events_of(conversation)
    assert (event.author, event.data["status"], event.data["reason"]) == (
        "system",
        "waiting",
        "sensitive_intent",
    )


def test_asking_twice_returns_the_open_handoff(conversation, skills, anna):
    first = actions.request_handoff(conversation.pk, "requested")

    again = actions.request_handoff(conversation.pk, "frustration")

    assert again.pk == first.pk and Handoff.objects.count() == 1


def test_with_nobody_online_the_visitor_is_told_and_can_leave_a_message(conversation, skills, db):
    new_agent("dora", online=False)

    handoff = actions.request_handoff(conversation.pk, "requested")
    ticket = actions.leave_message(conversation.pk, "Please call me back", "dora@example.org")

    conversation.refresh_from_db()
    assert handoff.status == "unavailable" and conversation.owner == "bot"
    assert events_of(conversation)[0].data["why"] == "no_agent_online"
    assert (ticket.text, ticket.contact, ticket.handoff) == (
        "Please call me back",
        "dora@example.org",
        handoff,
    )


def test_outside_business_hours_the_visitor_is_told(conversation, anna, settings):
    settings.HANDOFF_HOURS = "mon 00:00-00:01"

    handoff = actions.request_handoff(conversation.pk, "requested")

    assert handoff.status == "unavailable"
    assert events_of(conversation)[0].data["why"] == "outside_hours"


def test_of_two_agents_accepting_the_same_conversation_exactly_one_wins(conversation, anna, ben):
    handoff = actions.request_handoff(conversation.pk, "requested")

    actions.accept(handoff.pk, ben)
    with pytest.raises(actions.HandoffError) as lost:
        actions.accept(handoff.pk, anna)

    handoff.refresh_from_db()
    assert lost.value.code == "already_taken"
    assert handoff.assigned_to == ben
    assert [event.text for event in events_of(conversation)][
        -1
    ] == "Ben has joined the conversation."


def test_an_agent_cannot_take_a_conversation_outside_their_skills(conversation, skills, anna, carl):
    handoff = actions.request_handoff(conversation.pk, "sensitive_intent", "compromised_card")

    with pytest.raises(actions.HandoffError) as refused:
        actions.accept(handoff.pk, carl)

    assert refused.value.code == "forbidden"
    handoff.refresh_from_db()
    assert handoff.status == "waiting" and handoff.assigned_to is None
    assert [item["handoff_id"] for item in actions.visible_queue(carl)] == []
    assert [item["handoff_id"] for item in actions.visible_queue(anna)] == [handoff.pk]


def test_an_agent_at_capacity_cannot_accept_more(conversation, db):
    full = new_agent("full", capacity=1)
    other = Conversation.objects.create(visitor=conversation.visitor)
    actions.accept(actions.request_handoff(other.pk, "requested").pk, full)

    with pytest.raises(actions.HandoffError) as refused:
        actions.accept(actions.request_handoff(conversation.pk, "requested").pk, full)

    assert refused.value.code == "at_capacity"


def test_an_offer_not_accepted_in_time_goes_to_the_next_agent(conversation, skills, anna, ben):
    handoff = actions.request_handoff(conversation.pk, "requested", "compromised_card")
    handoff.refresh_from_db()
    first = handoff.offered_to

    assert actions.expire_offer(handoff.pk, handoff.offer_count)

    handoff.refresh_from_db()
    assert handoff.offered_to not in (None, first)
    assert list(handoff.passed_over.all()) == [first]
    assert not actions.expire_offer(handoff.pk, handoff.offer_count - 1), (
        "a stale expiry does nothing"
    )


def test_a_declined_offer_goes_to_the_next_agent(conversation, anna, ben):
    handoff = actions.request_handoff(conversation.pk, "requested")
    handoff.refresh_from_db()
    first = handoff.offered_to

    actions.decline(handoff.pk, first)

    handoff.refresh_from_db()
    assert handoff.offered_to is not None and handoff.offered_to != first


def test_agent_messages_are_stored_once_and_the_first_reply_is_timed(conversation, anna):
    handoff = actions.request_handoff(conversation.pk, "requested")
    actions.accept(handoff.pk, anna)

    event, duplicate = actions.agent_message(handoff.pk, anna, "m-1", "Hello, I'm Anna.")
    again, is_duplicate = actions.agent_message(handoff.pk, anna, "m-1", "Hello, I'm Anna.")

    handoff.refresh_from_db()
    assert (event.author, event.data["agent_name"], duplicate) == ("agent", "Anna", False)
    assert is_duplicate and again.pk == event.pk
    assert handoff.first_agent_reply_at is not None


def test_only_the_assigned_agent_may_write_hand_back_or_close(conversation, anna, ben):
    handoff = actions.request_handoff(conversation.pk, "requested")
    actions.accept(handoff.pk, anna)

    for call in (
        lambda: actions.agent_message(handoff.pk, ben, "x", "hi"),
        lambda: actions.hand_back(handoff.pk, ben),
        lambda: actions.close(handoff.pk, ben, "resolved"),
        lambda: actions.add_note(handoff.pk, ben, "psst"),
    ):
        with pytest.raises(actions.HandoffError):
            call()
    assert Event.objects.filter(conversation=conversation, author="agent").count() == 0


def test_hand_back_returns_the_conversation_to_the_bot_which_knows_a_person_was_here(
    conversation, anna
):
    handoff = actions.request_handoff(conversation.pk, "requested")
    actions.accept(handoff.pk, anna)

    actions.hand_back(handoff.pk, anna)

    conversation.refresh_from_db()
    handoff.refresh_from_db()
    assert (conversation.owner, handoff.status) == ("bot", "returned")
    assert conversation.state["human_stretches"] == 1
    assert [e.data["status"] for e in events_of(conversation)] == ["waiting", "agent", "bot"]


def test_closing_records_the_disposition_and_the_visitor_rates_once(conversation, anna):
    handoff = actions.request_handoff(conversation.pk, "requested")
    actions.accept(handoff.pk, anna)

    with pytest.raises(actions.HandoffError):
        actions.rate(conversation.pk, 5)
    actions.close(handoff.pk, anna, "resolved")
    actions.rate(conversation.pk, 4)
    actions.rate(conversation.pk, 1)

    conversation.refresh_from_db()
    handoff.refresh_from_db()
    assert (conversation.owner, conversation.status, handoff.disposition) == (
        "closed",
        "closed",
        "resolved",
    )
    assert (Rating.objects.get().score, Rating.objects.get().was_human_handled) == (4, True)


def test_the_visitor_can_stop_waiting_and_go_back_to_the_bot(conversation, anna):
    handoff = actions.request_handoff(conversation.pk, "requested")

    actions.cancel_by_visitor(conversation.pk)

    conversation.refresh_from_db()
    handoff.refresh_from_db()
    assert (conversation.owner, handoff.status, handoff.offered_to) == ("bot", "cancelled", None)
    with pytest.raises(actions.HandoffError):
        actions.accept(handoff.pk, anna)


def test_a_transfer_to_a_colleague_or_to_a_skills_queue(conversation, skills, anna, ben, carl):
    handoff = actions.request_handoff(conversation.pk, "requested")
    actions.accept(handoff.pk, anna)

    actions.transfer(handoff.pk, anna, to_agent_id=ben.pk)
    handoff.refresh_from_db()
    assert handoff.assigned_to == ben

    actions.transfer(handoff.pk, ben, skill="payments")
    handoff.refresh_from_db()
    conversation.refresh_from_db()
    assert (handoff.status, handoff.skill.name, conversation.owner) == (
        "waiting",
        "payments",
        "waiting",
    )
    assert handoff.offered_to == carl


def test_the_report_counts_reasons_waits_satisfaction_and_containment(conversation, anna):
    from handoff.report import handoff_report

    handoff = actions.request_handoff(conversation.pk, "requested", "card_arrival")
    actions.accept(handoff.pk, anna)
    actions.close(handoff.pk, anna, "resolved")
    actions.rate(conversation.pk, 5)

    report = handoff_report()

    assert report["handoff_rate_by_reason"] == [
        {"reason": "requested", "count": 1, "conversations": 1, "rate": 1.0}
    ]
    assert report["handoff_rate_by_intent"][0]["intent"] == "card_arrival"
    assert len(report["wait_seconds"]) == 1 and report["containment_rate"] == 0.0
    assert report["satisfaction"]["human"] == {
        "count": 1,
        "mean": 5.0,
        "distribution": [0, 0, 0, 0, 1],
    }
    assert report["recent"][0]["disposition"] == "resolved"


def test_when_nobody_is_free_the_bots_own_triggers_do_not_repeat_it_but_a_request_does(
    conversation, db
):
    first = actions.request_handoff(conversation.pk, "low_confidence")

    again = actions.request_handoff(conversation.pk, "frustration")
    asked = actions.request_handoff(conversation.pk, "requested")

    assert first.status == "unavailable" and again.pk == first.pk
    assert asked.pk != first.pk
    assert len(events_of(conversation)) == 2
