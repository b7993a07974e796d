"""The tracker and the policy on hand-made understandings: slots, references, flows."""

import pytest

from chatbot import engine
from chatbot.dialogue.flows import FlowDefinitionError, read_flows
from chatbot.dialogue.state import DialogueState, state_diff
from knowledge.graph import KnowledgeGraph, NodeRecord, RelationRecord

NODES = [
    NodeRecord(
        "process:card_delivery",
        "process",
        "Card delivery",
        ("card shipping",),
        {"standard_days": 5},
    ),
    NodeRecord("product:virtual_card", "product", "Virtual card", ("online card",), {"fee": 0}),
    NodeRecord(
        "product:standard_card",
        "product",
        "Standard card",
        ("debit card",),
        {"scheme": "Mastercard"},
    ),
    NodeRecord("country:fr", "country", "France", (), {"iso_code": "FR"}),
    NodeRecord(
        "country:us",
        "country",
        "United States",
        ("USA",),
        {"iso_code": "US", "kestrel_available": False},
    ),
    NodeRecord(
        "topic:card_arrival",
        "topic",
        "Card arrival",
        (),
        {"intent": "card_arrival"},
        ("Cards arrive within {process:card_delivery.standard_days} working days.",),
    ),
    NodeRecord(
        "topic:country_support",
        "topic",
        "Supported countries",
        (),
        {"intent": "country_support"},
        ("You can use Kestrel in the UK and the EEA.",),
    ),
    NodeRecord(
        "topic:exchange_rate",
        "topic",
        "Exchange rates",
        (),
        {"intent": "exchange_rate"},
        ("We use the live interbank rate.",),
    ),
    NodeRecord(
        "topic:top_up_by_card",
        "topic",
        "Topping up by card",
        (),
        {"intent": "topping_up_by_card"},
        ("Top up by card in the app under Add money.",),
    ),
]
RELATIONS = [
    RelationRecord(1, "topic:card_arrival", "concerns", "process:card_delivery"),
    RelationRecord(2, "topic:country_support", "concerns", "product:standard_card"),
    RelationRecord(3, "product:standard_card", "available_in", "country:fr"),
]
GRAPH = KnowledgeGraph(NODES, RELATIONS)


def understood(intent, confidence=0.97, entities=(), ranking=None, low=False):
    ranking = ranking or [
        {"intent": intent, "confidence": confidence},
        {"intent": "other", "confidence": 0.02},
    ]
    return {
        "status": "ok",
        "intent": intent,
        "confidence": confidence,
        "is_low_confidence": low,
        "ranking": ranking,
        "entities": list(entities),
    }


def linked(key, text):
    node = GRAPH.node(key)
    return {"type": node.type, "text": text, "value": {"node": key}, "source": "graph"}


def card(digits):
    return {"type": "card_last4", "text": digits, "value": digits, "source": "rules"}


class Conversation:
    def __init__(self):
        self.state = {}
        self.last = None

    def say(self, text, understanding=None):
        self.last = engine.run_turn(self.state, text, understanding, GRAPH)
        self.state = self.last.state
        return " ".join("".join(reply.chunks) for reply in self.last.replies)


def test_a_grounded_answer_cites_the_topic_and_the_facts_it_quotes():
    chat = Conversation()

    answer = chat.say("where is my card", understood("card_arrival"))

    assert answer == "Cards arrive within 5 working days."
    assert [s["key"] for s in chat.last.replies[0].sources] == [
        "topic:card_arrival",
        "process:card_delivery",
    ]
    assert chat.last.trace["decision"] == "answer"


def test_a_slot_remembers_the_turn_that_set_it_and_the_diff_says_so():
    chat = Conversation()
    chat.say("hello")

    chat.say(
        "I lost my card ending 1234", understood("lost_or_stolen_card", entities=[card("1234")])
    )

    assert chat.state["slots"]["card"] == {"value": "1234", "text": "1234", "turn": 2}
    assert chat.last.diff["slots.card"] == {
        "before": None,
        "after": {"value": "1234", "text": "1234", "turn": 2},
    }


def test_the_block_card_flow_asks_confirms_and_finishes_with_graph_facts():
    chat = Conversation()

    ask = chat.say("I lost my card", understood("lost_or_stolen_card"))
    confirm = chat.say("it ends in 4321", understood("card_arrival", 0.3, [card("4321")], low=True))
    done = chat.say("yes please", understood("card_arrival", 0.2, low=True))

    assert "last four digits" in ask
    assert confirm == "Shall I block the card ending 4321 now? Once blocked it can't be used again."
    assert done.startswith("Done: the card ending 4321 is blocked")
    assert "up to 5 working days" in done
    assert chat.state["flow"] is None
    assert chat.state["finished_flows"][0]["outcome"] == "done"


def test_no_the_other_card_corrects_the_slot_with_the_card_given_earlier():
    chat = Conversation()
    chat.say(
        "my cards end 1111 and 2222",
        understood("card_arrival", 0.3, [card("1111"), card("2222")], low=True),
    )
    chat.say("I lost my card", understood("lost_or_stolen_card"))
    chat.say("the one ending 1111", understood("card_arrival", 0.3, [card("1111")], low=True))

    answer = chat.say("no, the other card", understood("card_arrival", 0.3, low=True))

    assert answer.startswith("OK, 2222 then. Shall I block the card ending 2222")
    assert chat.state["flow"]["slots"]["card"]["value"] == "2222"
    assert chat.last.trace["decision"] == "flow_corrected"


def test_cancel_stops_a_flow_at_any_step():
    chat = Conversation()
    chat.say("I lost my card", understood("lost_or_stolen_card"))

    answer = chat.say("actually never mind", understood("card_arrival", 0.2, low=True))

    assert answer == "All right, I haven't blocked anything."
    assert chat.state["flow"] is None and chat.state["finished_flows"][0]["outcome"] == "cancelled"


def test_a_side_question_inside_a_flow_is_answered_and_the_flow_resumes():
    chat = Conversation()
    chat.say("I lost my card", understood("lost_or_stolen_card"))

    answer = chat.say("what exchange rate do you use?", understood("exchange_rate"))

    assert answer.startswith("We use the live interbank rate. Now, back to blocking your card:")
    assert chat.state["flow"]["name"] == "block_card"
    assert chat.last.trace["decision"] == "digression"
    chat.say("1234", understood("card_arrival", 0.1, low=True))
    assert chat.state["flow"]["slots"]["card"]["value"] == "1234"


def test_a_flat_guess_is_clarified_and_the_second_one_is_picked():
    chat = Conversation()
    flat = [
        {"intent": "card_arrival", "confidence": 0.28},
        {"intent": "exchange_rate", "confidence": 0.26},
    ]

    question = chat.say("card rate?", understood("card_arrival", 0.28, ranking=flat, low=True))
    answer = chat.say("the second one", understood("card_arrival", 0.2, low=True))

    assert question == "Do you mean card arrival or exchange rates?"
    assert answer == "We use the live interbank rate."
    assert chat.last.trace["decision"] == "clarified"


def test_it_refers_to_the_thing_in_focus_even_many_turns_later():
    chat = Conversation()
    chat.say(
        "I have an online card",
        understood("card_arrival", 0.3, [linked("product:virtual_card", "online card")], low=True),
    )
    for _ in range(10):
        chat.say("what exchange rate do you use?", understood("exchange_rate"))

    answer = chat.say("how do I top up that card?", understood("topping_up_by_card"))

    assert answer == "About the Virtual card: Top up by card in the app under Add money."
    assert chat.last.trace["referent"] == "product:virtual_card"


def test_and_for_france_follows_up_on_the_same_topic_with_the_graphs_relation():
    chat = Conversation()
    chat.say("where can I use my card?", understood("country_support"))
    # The classifier takes it for a follow-up, and read after the question, for its topic.
    elliptical = understood(
        "follow_up",
        0.8,
        [linked("country:fr", "France")],
        ranking=[
            {"intent": "follow_up", "confidence": 0.8},
            {"intent": "exchange_rate", "confidence": 0.1},
        ],
    )
    elliptical["in_context"] = understood("country_support", 0.95)

    answer = chat.say("and for France?", elliptical)

    assert (
        answer
        == "The Standard card is available in France. You can use Kestrel in the UK and the EEA."
    )
    assert chat.last.trace["decision"] == "follow_up"


def test_three_unclear_messages_get_unsure_then_out_of_scope_and_raise_frustration():
    chat = Conversation()
    answers = [chat.say("blah blah", understood("card_arrival", 0.1, low=True)) for _ in range(3)]

    assert answers[0] == engine.UNSURE
    assert "connect you to a person" in answers[2]
    assert chat.state["low_confidence_streak"] == 3
    assert chat.state["frustration"] > 0


def test_frustration_rises_with_angry_repeated_messages_and_fades():
    chat = Conversation()
    chat.say("THIS IS USELESS, where is my card!!", understood("card_arrival"))
    angry = chat.state["frustration"]
    chat.say("THIS IS USELESS, where is my card!!", understood("card_arrival"))
    angrier = chat.state["frustration"]
    chat.say("ok thanks", None)

    assert 0 < angry < angrier and chat.state["frustration"] < angrier


def test_the_state_survives_a_round_trip_through_json_and_ignores_unknown_fields():
    state = DialogueState(
        turn_count=3, slots={"card": {"value": "1234", "text": "1234", "turn": 2}}
    )

    again = DialogueState.from_dict({**state.as_dict(), "retired_field": 1})

    assert again == state
    assert state_diff(state.as_dict(), again.as_dict()) == {}


def test_a_flow_file_without_a_confirmation_is_refused(tmp_path):
    path = tmp_path / "flows.yaml"
    path.write_text(
        "broken:\n  title: t\n  starts_on: [x]\n  steps: [{slot: a, ask: b}]\n  done: d\n  cancelled: c\n"  # noqa: E501
    )

    with pytest.raises(FlowDefinitionError, match="must end with a confirm step"):
        read_flows(path)
