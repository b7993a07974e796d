"""What the graph says about a thing in a topic's context: places, currencies, fees, siblings."""

from knowledge.graph import KnowledgeGraph, NodeRecord, RelationRecord
from knowledge.things import about_thing, bears_on_place_and_money, fee_sentence, the_topics_own

NODES = [
    NodeRecord("org:bank", "organisation", "Bank", (), {"home_currency": "GBP"}),
    NodeRecord(
        "country:us",
        "country",
        "United States",
        ("USA",),
        {"kestrel_available": False, "card_accepted": True, "card_delivery": False},
    ),
    NodeRecord("country:gb", "country", "United Kingdom", (), {"card_accepted": True}),
    NodeRecord(
        "currency:usd", "currency", "US dollar", (), {"code": "USD", "hold": True, "exchange": True}
    ),
    NodeRecord("currency:gbp", "currency", "Pound sterling", (), {"code": "GBP"}),
    NodeRecord("product:card", "product", "Debit card", ()),
    NodeRecord("process:top_up", "process", "Top-up", ()),
    NodeRecord("process:top_up_by_card", "process", "Top-up by card", ()),
    NodeRecord("process:top_up_by_cash", "process", "Top-up with cash", ("cash top-up",)),
    NodeRecord("process:atm", "process", "Cash withdrawal", ()),
    NodeRecord("process:exchange", "process", "Currency exchange", ()),
    NodeRecord(
        "fee:delivery",
        "fee",
        "Express delivery fee",
        (),
        {"amount": 6.99, "per": "delivery", "currency": "GBP"},
    ),
    NodeRecord(
        "fee:exchange", "fee", "Exchange fee", (), {"percent": 0.5, "minimum": 1, "currency": "GBP"}
    ),
    NodeRecord("fee:free", "fee", "Card payment fee", (), {"price_text": "free"}),
    NodeRecord("topic:countries", "topic", "Where we are", (), {"intent": "country_support"}),
    NodeRecord("topic:atm_fees", "topic", "ATM fees", (), {"intent": "cash_withdrawal_charge"}),
    NodeRecord("topic:top_up_fees", "topic", "Top-up fees", (), {"intent": "top_up_charge"}),
    NodeRecord("topic:pin", "topic", "PIN", (), {"intent": "change_pin"}),
]
RELATIONS = [
    RelationRecord(1, "product:card", "available_in", "country:gb"),
    RelationRecord(2, "country:us", "uses_currency", "currency:usd"),
    RelationRecord(3, "country:gb", "uses_currency", "currency:gbp"),
    RelationRecord(4, "topic:countries", "concerns", "product:card"),
    RelationRecord(5, "topic:atm_fees", "concerns", "process:atm"),
    RelationRecord(6, "process:atm", "has_fee", "fee:exchange"),
    RelationRecord(7, "process:exchange", "has_fee", "fee:exchange"),
    RelationRecord(8, "process:exchange", "supports_currency", "currency:usd"),
    RelationRecord(9, "process:top_up_by_card", "part_of", "process:top_up"),
    RelationRecord(10, "process:top_up_by_cash", "part_of", "process:top_up"),
    RelationRecord(11, "topic:top_up_fees", "concerns", "process:top_up_by_card"),
]
GRAPH = KnowledgeGraph(NODES, RELATIONS)


def test_a_country_is_described_by_what_matters_for_the_topic():
    where = about_thing(GRAPH, "topic:countries", "country:us")
    fees = about_thing(GRAPH, "topic:atm_fees", "country:us")

    assert where.text == (
        "In United States, your card works there, we can't open accounts for people living "
        "there, we can't deliver cards there and the local currency is the US dollar. Paying or "
        "withdrawing in US dollars counts as a currency exchange."
    )
    assert fees.text.startswith("In United States, your card works there and the local currency")
    assert fees.provenance.nodes == ("country:us", "currency:usd")


def test_the_home_country_s_currency_is_no_exchange():
    answer = about_thing(GRAPH, "topic:atm_fees", "country:gb")

    assert answer.text == (
        "In United Kingdom, your card works there and the local currency is the Pound sterling."
    )


def test_a_thing_related_to_a_topic_s_subject_is_said_by_that_relation():
    answer = about_thing(GRAPH, "topic:countries", "country:gb")

    assert answer.text == "The Debit card is available in United Kingdom."
    assert answer.provenance.relations == (1,)


def test_a_fee_without_an_answer_is_said_from_its_attributes():
    assert fee_sentence(GRAPH, "fee:delivery").text == "Express delivery fee: £6.99 per delivery."
    assert fee_sentence(GRAPH, "fee:exchange").text == "Exchange fee: 0.5% (minimum £1)."
    assert fee_sentence(GRAPH, "fee:free").text == "Card payment fee: free."


def test_a_topic_bears_on_place_and_money_through_its_subjects_or_their_fees():
    assert bears_on_place_and_money(GRAPH, "topic:countries")
    assert bears_on_place_and_money(GRAPH, "topic:atm_fees")
    assert not bears_on_place_and_money(GRAPH, "topic:pin")


def test_a_name_is_read_as_the_topic_s_own_kind_of_thing():
    assert the_topics_own(GRAPH, "topic:top_up_fees", "process:atm", "cash") == (
        "process:top_up_by_cash"
    )
    assert the_topics_own(GRAPH, "topic:pin", "process:atm", "cash") == "process:atm"


def test_a_thing_without_an_answer_is_said_from_its_attributes():
    graph = KnowledgeGraph(
        [
            NodeRecord(
                "process:wallet_top_up",
                "process",
                "Top-up with Apple Pay",
                (),
                {"instant": True, "same_fees_as": "card top-ups", "refundable": False},
            )
        ],
        [],
    )

    answer = about_thing(graph, None, "process:wallet_top_up")

    assert answer.text == (
        "Top-up with Apple Pay: instant, same fees as card top-ups, not refundable."
    )
    assert answer.provenance.nodes == ("process:wallet_top_up",)
