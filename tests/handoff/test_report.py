"""The report's rates are shares of conversations: several handoffs in one count once."""

import pytest

from chatbot import actions as chat_actions
from handoff import actions
from handoff.report import handoff_report
from tests.handoff.conftest import new_agent

pytestmark = [
    pytest.mark.databases,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("tasks_in_process"),
]


def test_three_handoffs_in_one_conversation_are_one_conversation_handed_over(conversation):
    anna = new_agent("anna")
    for _ in range(2):
        handoff = actions.request_handoff(conversation.pk, "requested", "card_arrival")
        actions.accept(handoff.pk, anna)
        actions.hand_back(handoff.pk, anna)
    actions.request_handoff(conversation.pk, "low_confidence")

    report = handoff_report()

    assert (report["conversations"], report["handoffs"]) == (1, 3)
    assert report["handed_over_conversations"] == 1
    assert report["handoff_rate_by_reason"] == [
        {"reason": "requested", "count": 2, "conversations": 1, "rate": 1.0},
        {"reason": "low_confidence", "count": 1, "conversations": 1, "rate": 1.0},
    ]
    assert report["containment_rate"] == 0.0


def test_rates_are_fractions_of_all_conversations_never_above_one(conversation):
    quiet = chat_actions.open_conversation(chat_actions.create_visitor().pk)
    chat_actions.record_visitor_message(quiet.pk, "q-1", "what is the exchange rate?")
    # Pressed "talk to a person" before typing anything: a conversation all the same.
    button_only = chat_actions.open_conversation(chat_actions.create_visitor().pk)
    for _ in range(3):
        actions.cancel_by_visitor(conversation.pk)
        actions.request_handoff(conversation.pk, "requested")
    actions.request_handoff(button_only.pk, "requested")

    report = handoff_report()

    assert report["conversations"] == 3
    (requested,) = report["handoff_rate_by_reason"]
    assert (requested["count"], requested["conversations"]) == (4, 2)
    assert requested["rate"] == round(2 / 3, 4)
    assert all(
        0 <= row["rate"] <= 1
        for row in report["handoff_rate_by_reason"] + report["handoff_rate_by_intent"]
    )
    assert report["containment_rate"] == round(1 - 2 / 3, 4)
