"""The policy on hand-made understandings: guesses, follow-ups, acts, returns and repeats.

Each failure class of a bot that answered fewer than half of real conversations' turns has a test
here that names it; the transcripts in tests/conversations play the same classes through the real
model.
"""

from chatbot import engine
from chatbot.dialogue.escalation import EscalationRules
from chatbot.dialogue.policy import PolicySettings
from knowledge.graph import KnowledgeGraph, NodeRecord, RelationRecord


def topic(intent: str, label: str, *answers: str) -> NodeRecord:
    return NodeRecord(f"topic:{intent}", "topic", label, (), {"intent": intent}, answers)


NODES = [
    NodeRecord("org:bank", "organisation", "Bank", (), {"home_currency": "GBP"}),
    NodeRecord("process:top_up", "process", "Top-up", ()),
    NodeRecord("process:top_up_by_card", "process", "Top-up by card", ("card top-up",)),
    NodeRecord(
        "process:top_up_by_bank_transfer",
        "process",
        "Top-up by bank transfer",
        ("top up by transfer",),
    ),
    NodeRecord("process:domestic_transfer", "process", "UK bank transfer", ("bank transfer",)),
    NodeRecord(
        "fee:card_top_up",
        "fee",
        "Card top-up fee",
        (),
        {"percent": 1.5, "minimum": 1, "currency": "GBP"},
    ),
    NodeRecord("fee:transfer_top_up", "fee", "Transfer top-up fee", (), {"price_text": "free"}),
    NodeRecord(
        "process:atm_withdrawal", "process", "Cash withdrawal", ("withdrawal",), {"days": 3}
    ),
    NodeRecord(
        "fee:exchange",
        "fee",
        "Exchange fee",
        (),
        {"percent": 0.5},
        ("Exchanges cost {fee:exchange.percent}% past your allowance.",),
    ),
    NodeRecord("process:exchange", "process", "Currency exchange", ()),
    NodeRecord("currency:eur", "currency", "Euro", ("EUR",), {"code": "EUR", "hold": True}),
    NodeRecord("country:fr", "country", "France", (), {"iso_code": "FR", "card_accepted": True}),
    NodeRecord("process:direct_debit", "process", "Direct Debit", ("DD",)),
    topic(
        "top_up_by_card_charge",
        "What card top-ups cost",
        "Card top-ups cost {fee:card_top_up.percent}%.",
    ),
    topic(
        "top_up_by_bank_transfer_charge",
        "Fee for topping up by bank transfer",
        "Topping up by bank transfer is {fee:transfer_top_up.price_text}.",
    ),
    topic(
        "cash_withdrawal_charge",
        "Cash withdrawal fees",
        "Withdrawals are free up to £200 a month. They appear within 3 days.",
    ),
    topic("change_pin", "Changing your PIN", "Change your PIN at any cash machine."),
    topic(
        "direct_debit_payment_not_recognised",
        "A Direct Debit I don't recognise",
        "Tap the Direct Debit to see who set it up.",
    ),
    topic("card_replacement", "Replacing a card", "Order a replacement under Cards."),
    topic(
        "compromised_card",
        "Someone else is using my card",
        "Freeze your card and report the payments.",
    ),
    topic("lost_or_stolen_card", "Lost or stolen card", "Report it in the app."),
]
RELATIONS = [
    RelationRecord(1, "process:top_up_by_card", "part_of", "process:top_up"),
    RelationRecord(2, "process:top_up_by_bank_transfer", "part_of", "process:top_up"),
    RelationRecord(3, "process:top_up_by_card", "has_fee", "fee:card_top_up"),
    RelationRecord(4, "process:top_up_by_bank_transfer", "has_fee", "fee:transfer_top_up"),
    RelationRecord(5, "topic:top_up_by_card_charge", "concerns", "process:top_up_by_card"),
    RelationRecord(6, "topic:top_up_by_card_charge", "concerns", "fee:card_top_up"),
    RelationRecord(
        7, "topic:top_up_by_bank_transfer_charge", "concerns", "process:top_up_by_bank_transfer"
    ),
    RelationRecord(8, "topic:top_up_by_bank_transfer_charge", "concerns", "fee:transfer_top_up"),
    RelationRecord(
        9, "topic:top_up_by_card_charge", "related_topic", "topic:top_up_by_bank_transfer_charge"
    ),
    RelationRecord(10, "topic:cash_withdrawal_charge", "concerns", "process:atm_withdrawal"),
    RelationRecord(11, "process:atm_withdrawal", "has_fee", "fee:exchange"),
    RelationRecord(12, "process:exchange", "has_fee", "fee:exchange"),
    RelationRecord(13, "process:exchange", "supports_currency", "currency:eur"),
    RelationRecord(14, "country:fr", "uses_currency", "currency:eur"),
    RelationRecord(
        15, "topic:direct_debit_payment_not_recognised", "concerns", "process:direct_debit"
    ),
]
GRAPH = KnowledgeGraph(NODES, RELATIONS)
RULES = EscalationRules()


def understood(intent, confidence=0.95, entities=(), ranking=None, low=False, context=None):
    result = {
        "status": "ok",
        "intent": intent,
        "confidence": confidence,
        "is_low_confidence": low,
        "ranking": ranking or [{"intent": intent, "confidence": confidence}],
        "entities": list(entities),
    }
    if context:
        result["in_context"] = context
    return result


def follow_up(context_intent=None, entities=(), belief=0.8):
    """A message the model reads as a follow-up; `context_intent` is its reading in context,
    sure when given, unsure (pointing nowhere new) when None."""
    ranking = [{"intent": "follow_up", "confidence": belief}]
    context = (
        understood(context_intent) if context_intent else understood("change_pin", 0.2, low=True)
    )
    return understood("follow_up", belief, entities, ranking, context=context)


def linked(key, text):
    node = GRAPH.node(key)
    return {"type": node.type, "text": text, "value": {"node": key}, "source": "graph"}


IN_FRANCE = linked("country:fr", "France")
WITHDRAWAL = linked("process:atm_withdrawal", "withdrawal")


class Conversation:
    def __init__(self, rules=None):
        self.state = {}
        self.configuration = engine.TurnConfiguration(rules=rules, policy=PolicySettings())
        self.last = None

    def say(self, text, understanding=None):
        self.last = engine.run_turn(self.state, text, understanding, GRAPH, self.configuration)
        self.state = self.last.state
        return " ".join("".join(reply.chunks) for reply in self.last.replies)

    @property
    def sources(self):
        return [source["key"] for reply in self.last.replies for source in reply.sources]

    @property
    def buttons(self):
        return [button["label"] for reply in self.last.replies for button in reply.quick_replies]


# 1. Right guesses are answered, with the runner-ups offered ------------------------------------


def test_an_unsure_guess_is_answered_and_the_runner_ups_are_offered_as_buttons():
    chat = Conversation()
    unsure = [
        {"intent": "top_up_by_card_charge", "confidence": 0.49},
        {"intent": "top_up_by_bank_transfer_charge", "confidence": 0.2},
        {"intent": "change_pin", "confidence": 0.1},
    ]

    answer = chat.say(
        "top-up cost", understood("top_up_by_card_charge", 0.49, ranking=unsure, low=True)
    )

    assert answer == (
        "Card top-ups cost 1.5%. Or did you mean fee for topping up by bank transfer or "
        "changing your PIN?"
    )
    assert chat.last.trace["decision"] == "tentative"
    assert chat.buttons == ["Fee for topping up by bank transfer", "Changing your PIN"]
    assert chat.last.trace["offered"] == ["top_up_by_bank_transfer_charge", "change_pin"]


def test_a_runner_up_s_button_answers_its_topic():
    chat = Conversation()
    unsure = [
        {"intent": "top_up_by_card_charge", "confidence": 0.49},
        {"intent": "change_pin", "confidence": 0.3},
    ]
    chat.say("top-up pin", understood("top_up_by_card_charge", 0.49, ranking=unsure, low=True))

    answer = chat.say("Changing your PIN", understood("change_pin", 0.4, low=True))

    assert answer == "Change your PIN at any cash machine."
    assert chat.last.trace["decision"] == "clarified"


def test_a_flat_guess_is_a_question_with_a_button_per_option():
    chat = Conversation()
    flat = [
        {"intent": "top_up_by_card_charge", "confidence": 0.26},
        {"intent": "top_up_by_bank_transfer_charge", "confidence": 0.25},
        {"intent": "change_pin", "confidence": 0.2},
    ]

    answer = chat.say("fee?", understood("top_up_by_card_charge", 0.26, ranking=flat, low=True))

    assert answer == (
        "Do you mean what card top-ups cost, fee for topping up by bank transfer or changing "
        "your PIN?"
    )
    assert len(chat.buttons) == 3 and chat.sources == []


# 2. Ordinary chat --------------------------------------------------------------------------------


def test_a_greeting_thanks_and_are_you_a_bot_are_answered_by_their_acts():
    chat = Conversation(RULES)

    decisions = []
    for act in ("greet", "thank", "bot_challenge", "goodbye"):
        chat.say("...", understood(act, 0.9))
        decisions.append(chat.last.trace["decision"])

    assert decisions == ["greeting", "thanks", "bot_challenge", "goodbye"]
    assert chat.state["low_confidence_streak"] == 0


def test_am_i_talking_to_a_real_person_asks_about_the_bot_and_is_not_a_handoff():
    chat = Conversation(RULES)

    chat.say("Am I talking to a real person?", understood("bot_challenge", 0.9))

    assert chat.last.trace["handoff"] is None
    assert chat.buttons == ["Talk to a person"]


def test_asking_for_a_person_in_any_words_the_model_knows_is_a_handoff():
    chat = Conversation(RULES)

    chat.say("get me somebody from your team", understood("ask_for_person", 0.8))

    assert chat.last.trace["handoff"] == "requested"


# 3. Follow-ups -----------------------------------------------------------------------------------


def test_and_by_bank_transfer_after_the_card_top_up_fee_is_the_bank_transfer_top_up_fee():
    chat = Conversation()
    chat.say("Is there a fee to top up with my card?", understood("top_up_by_card_charge"))

    answer = chat.say(
        "and by bank transfer?",
        follow_up(entities=[linked("process:domestic_transfer", "bank transfer")]),
    )

    assert answer == "Topping up by bank transfer is free."
    assert chat.last.trace["intent"] == "top_up_by_bank_transfer_charge"
    assert "process:top_up_by_bank_transfer" in chat.sources


def test_and_in_france_says_what_france_means_for_the_topic_then_the_topic():
    chat = Conversation()
    chat.say("What does it cost to withdraw cash abroad?", understood("cash_withdrawal_charge"))

    answer = chat.say("And in France?", follow_up(entities=[linked("country:fr", "France")]))

    assert answer.startswith(
        "In France, your card works there and the local currency is the Euro. Paying or "
        "withdrawing in Euros counts as a currency exchange. Withdrawals are free"
    )
    assert {"country:fr", "currency:eur", "topic:cash_withdrawal_charge"} <= set(chat.sources)


def test_how_long_picks_the_sentence_that_says_how_long():
    chat = Conversation()
    chat.say("What does a withdrawal cost?", understood("cash_withdrawal_charge"))

    answer = chat.say("how long does that take?", follow_up())

    assert answer == "They appear within 3 days."
    assert chat.last.trace["decision"] == "follow_up"


def test_how_much_on_a_topic_whose_words_quote_no_price_gives_its_fees():
    chat = Conversation()
    chat.say("What does a withdrawal cost?", understood("cash_withdrawal_charge"))

    answer = chat.say("is there a fee?", follow_up())

    assert "Exchanges cost 0.5% past your allowance." in answer
    assert "fee:exchange" in chat.sources


def test_a_new_question_starting_with_and_is_a_new_question():
    chat = Conversation()
    chat.say("What does a withdrawal cost?", understood("cash_withdrawal_charge"))

    answer = chat.say(
        "And how do I change my PIN?",
        understood("change_pin", 0.97, ranking=[{"intent": "change_pin", "confidence": 0.97}]),
    )

    assert answer == "Change your PIN at any cash machine."
    assert chat.last.trace["follow_up"] is False


# 4. Never the same answer twice in a row ---------------------------------------------------------


def test_the_same_question_again_is_acknowledged_not_repeated_word_for_word():
    chat = Conversation()
    first = chat.say("How do I change my PIN?", understood("change_pin"))

    again = chat.say("where do I change the PIN", understood("change_pin"))

    assert first == "Change your PIN at any cash machine."
    assert again == "As I said, change your PIN at any cash machine."


# 5. Slots outside tasks --------------------------------------------------------------------------


def test_a_country_named_earlier_shapes_the_next_answer_that_depends_on_it():
    chat = Conversation()
    chat.say(
        "I'm in France", understood("change_pin", 0.1, [linked("country:fr", "France")], low=True)
    )

    answer = chat.say("What does a withdrawal cost?", understood("cash_withdrawal_charge"))

    assert chat.state["slots"]["country"] == {"value": "country:fr", "text": "France", "turn": 1}
    assert answer.startswith("In France, your card works there")
    assert "country:fr" in chat.sources


def test_a_remembered_country_does_not_colour_a_topic_it_has_nothing_to_do_with():
    chat = Conversation()
    chat.say(
        "I'm in France", understood("change_pin", 0.1, [linked("country:fr", "France")], low=True)
    )

    answer = chat.say("How do I change my PIN?", understood("change_pin"))

    assert answer == "Change your PIN at any cash machine."


# 6. References -----------------------------------------------------------------------------------


def test_was_does_not_name_the_cash_withdrawal():
    chat = Conversation()
    chat.say(
        "my withdrawal",
        understood(
            "cash_withdrawal_charge", entities=[linked("process:atm_withdrawal", "withdrawal")]
        ),
    )

    answer = chat.say("that was quick. how do I change my PIN?", understood("change_pin"))

    assert answer == "Change your PIN at any cash machine."
    assert chat.last.trace["referent"] is None


def test_a_bare_it_is_not_named_in_an_answer_about_something_else():
    chat = Conversation()
    chat.say(
        "a direct debit I don't know",
        understood(
            "direct_debit_payment_not_recognised",
            entities=[linked("process:direct_debit", "direct debit")],
        ),
    )

    answer = chat.say("how do I replace it?", understood("card_replacement"))

    assert answer == "Order a replacement under Cards."


# 7. Turns a task handled are clear ---------------------------------------------------------------


def test_a_card_ending_and_a_yes_taken_by_the_task_are_not_unclear_turns():
    chat = Conversation(RULES)
    chat.say("I lost my card", understood("lost_or_stolen_card"))
    chat.say(
        "It ends in 4821",
        understood(
            "change_pin",
            0.1,
            [{"type": "card_last4", "text": "4821", "value": "4821", "source": "rules"}],
            low=True,
        ),
    )
    chat.say("Yes please block it", understood("affirm", 0.6))

    answer = chat.say("How do I change my PIN?", understood("change_pin"))

    assert chat.state["finished_flows"][0]["outcome"] == "done"
    assert answer == "Change your PIN at any cash machine."
    assert chat.state["low_confidence_streak"] == 0 and chat.state["frustration"] == 0
    assert chat.last.trace["handoff"] is None


def test_a_task_s_first_reply_cites_the_topic_it_serves():
    chat = Conversation()

    chat.say("I lost my card", understood("lost_or_stolen_card"))

    assert chat.sources == ["topic:lost_or_stolen_card"]


# 8. Sensitive intents ----------------------------------------------------------------------------


def test_a_sensitive_intent_among_an_unsure_turn_s_likely_ones_goes_to_a_person_answered():
    chat = Conversation(RULES)
    torn = [
        {"intent": "lost_or_stolen_card", "confidence": 0.45},
        {"intent": "compromised_card", "confidence": 0.4},
    ]

    answer = chat.say(
        "someone used my card before I lost it",
        understood("lost_or_stolen_card", 0.45, ranking=torn, low=True),
    )

    assert chat.last.trace["handoff"] == "sensitive_intent"
    assert answer.startswith("Freeze your card and report the payments.")
    assert "topic:compromised_card" in chat.sources


def test_before_any_model_a_plain_thanks_is_still_known_by_its_words():
    chat = Conversation()

    answer = chat.say("thanks!", {"status": "no_model", "entities": []})

    assert chat.last.trace["decision"] == "thanks"
    assert answer == "You're welcome! Is there anything else I can help with?"


def test_a_request_the_bank_does_not_deal_in_says_what_it_can_do():
    chat = Conversation(RULES)

    answer = chat.say("book me a table for dinner", understood("out_of_scope", 0.9))

    assert chat.last.trace["decision"] == "out_of_scope"
    assert answer.startswith("I can help with cards, payments")
    assert chat.last.trace["handoff"] is None
