"""Entity extraction: amounts, currencies, dates, card endings and places in customers' words."""

import datetime
import json
from dataclasses import dataclass, field

import pytest

from chatbot.nlu.entities import Entity, extract_entities, mask_card_numbers

TODAY = datetime.date(2026, 3, 11)  # a Wednesday


def found(text: str, today: datetime.date = TODAY, **options) -> list[tuple]:
    """Return (type, text, value) of each entity found, in reading order."""
    return [(e.type, e.text, e.value) for e in extract_entities(text, today=today, **options)]


def money(amount: str, currency: str) -> dict:
    return {"amount": amount, "currency": currency}


def calendar_date(iso: str) -> dict:
    return {"date": iso, "relative": False}


def relative_date(iso: str) -> dict:
    return {"date": iso, "relative": True}


@dataclass
class GraphLinkerStub:
    """Links the phrases it is given, as a knowledge-graph linker would link node names."""

    name: str
    node_types: dict[str, str] = field(default_factory=dict)

    def link(self, text: str) -> list[Entity]:
        entities = []
        for phrase, node_type in self.node_types.items():
            start = text.find(phrase)
            if start >= 0:
                entities.append(
                    Entity(node_type, phrase, start, start + len(phrase), {"node": phrase})
                )
        return entities


# Amounts


def test_an_amount_carries_its_exact_text_offsets_and_currency():
    entities = extract_entities("Why do I see an extra £1 charge on my statement?", today=TODAY)

    assert entities == [Entity("amount", "£1", 22, 24, money("1", "GBP"))]


@pytest.mark.parametrize(
    ("message", "text", "value"),
    [
        ("There is a pending 1£ charge on my statement.", "1£", money("1", "GBP")),
        ("I sent 20 GBP to my sister", "20 GBP", money("20", "GBP")),
        ("I was charged 20GBP", "20GBP", money("20", "GBP")),
        ("GBP 250 is missing from my balance", "GBP 250", money("250", "GBP")),
        ("Please top up USD20", "USD20", money("20", "USD")),
        ("I was charged €1,250.50 for the hotel", "€1,250.50", money("1250.50", "EUR")),
        ("Can I transfer $5k at once?", "$5k", money("5000", "USD")),
        ("Is there a limit on £2.5m?", "£2.5m", money("2500000", "GBP")),
        ("Why did I only get 100 dollars?", "100 dollars", money("100", "USD")),
        ("Someone took 50 quid from my account", "50 quid", money("50", "GBP")),
        ("The ATM in Tokyo gave me ¥3000", "¥3000", money("3000", "JPY")),
        ("The machine only gave me 5 euros", "5 euros", money("5", "EUR")),
        ("I sent US$20 to a friend", "US$20", money("20", "USD")),
        ("What does it cost to send C$40?", "C$40", money("40", "CAD")),
        ("There is an extra 50p fee", "50p", money("0.50", "GBP")),
        ("A 150 pence charge appeared", "150 pence", money("1.50", "GBP")),
        ("Can I exchange 20 Swiss francs?", "20 Swiss francs", money("20", "CHF")),
        ("I need 5 thousand pounds urgently", "5 thousand pounds", money("5000", "GBP")),
        ("I withdrew 20 pounds sterling", "20 pounds sterling", money("20", "GBP")),
        ("They took £ 20 off me", "£ 20", money("20", "GBP")),
        ("Can I receive 20,000 pounds?", "20,000 pounds", money("20000", "GBP")),
    ],
)
def test_amounts_are_read_in_the_ways_customers_write_them(message, text, value):
    assert found(message) == [("amount", text, value)]


@pytest.mark.parametrize(
    ("message", "text", "value"),
    [
        ("Ich habe 1.250,50 EUR überwiesen", "1.250,50 EUR", money("1250.50", "EUR")),
        ("I paid 12,50 € for a coffee", "12,50 €", money("12.50", "EUR")),
        ("My rent of 1.250 EUR bounced", "1.250 EUR", money("1250", "EUR")),
        ("A fee of €1.250.000,00 was taken", "€1.250.000,00", money("1250000", "EUR")),
        ("I was charged €20,5 twice", "€20,5", money("20.50", "EUR")),
    ],
)
def test_continental_number_formats_are_understood(message, text, value):
    assert found(message) == [("amount", text, value)]


@pytest.mark.parametrize(
    ("message", "text", "value"),
    [
        ("I was wrongfully charged one pound.", "one pound", money("1", "GBP")),
        ("I need to send twenty pounds to my son", "twenty pounds", money("20", "GBP")),
        ("Can I take out a hundred euros?", "a hundred euros", money("100", "EUR")),
        (
            "It cost one hundred and fifty pounds",
            "one hundred and fifty pounds",
            money("150", "GBP"),
        ),
        ("He owes me twenty-five quid", "twenty-five quid", money("25", "GBP")),
        ("I lost two thousand dollars", "two thousand dollars", money("2000", "USD")),
        ("Why is ninety nine pounds missing?", "ninety nine pounds", money("99", "GBP")),
        ("The ATM kept a twenty-pound note", "twenty-pound", money("20", "GBP")),
    ],
)
def test_amounts_in_words_are_read(message, text, value):
    assert found(message) == [("amount", text, value)]


def test_bare_numbers_are_not_amounts():
    assert found("I have 3 cards and 20 transactions, is 1250.50 my balance?") == []


def test_phone_numbers_are_neither_amounts_nor_cards():
    assert found("Please call me back on +44 20 7946 0958 or 07700 900123") == []


def test_a_currency_after_an_article_is_a_currency_not_one_unit_of_it():
    assert found("I want to open a euro account") == [("currency", "euro", "EUR")]


def test_currency_codes_that_are_english_words_count_only_in_capitals():
    assert found("Can I try again? I lost my pen and it is mad.") == []
    assert found("Please send TRY 500 to Istanbul") == [("amount", "TRY 500", money("500", "TRY"))]


def test_the_currency_inside_an_amount_is_not_reported_on_its_own():
    assert found("I was charged 20 US dollars") == [("amount", "20 US dollars", money("20", "USD"))]


# Currencies


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("Do you support Swiss francs?", [("currency", "Swiss francs", "CHF")]),
        (
            "Can I hold USD and eur in one account?",
            [("currency", "USD", "USD"), ("currency", "eur", "EUR")],
        ),
        (
            "I changed Russian Ruble into UK pounds and lost money",
            [("currency", "Russian Ruble", "RUB"), ("currency", "UK pounds", "GBP")],
        ),
        ("What is this extra pound charge for?", [("currency", "pound", "GBP")]),
        ("Can I pay in € at the airport?", [("currency", "€", "EUR")]),
        ("Are Hong Kong dollars supported?", [("currency", "Hong Kong dollars", "HKD")]),
        ("Can I top up with Polish złoty?", [("currency", "Polish złoty", "PLN")]),
    ],
)
def test_currencies_named_without_an_amount_are_found(message, expected):
    assert found(message) == expected


# Dates


@pytest.mark.parametrize(
    ("message", "text", "iso"),
    [
        ("I paid on 3 March 2026", "3 March 2026", "2026-03-03"),
        ("The transfer on the 1st of March 2026 is missing", "1st of March 2026", "2026-03-01"),
        ("I sent it on March 3, 2026", "March 3, 2026", "2026-03-03"),
        ("The statement says 03/04/2026", "03/04/2026", "2026-04-03"),
        ("It was debited 03/04/26", "03/04/26", "2026-04-03"),
        ("Payment date 2026-03-04, still pending", "2026-03-04", "2026-03-04"),
        ("It was booked on 12.01.2026", "12.01.2026", "2026-01-12"),
    ],
)
def test_calendar_dates_are_read_day_first(message, text, iso):
    assert found(message) == [("date", text, calendar_date(iso))]


def test_a_day_without_a_year_is_the_last_one_in_a_past_tense_message():
    assert found("My card was charged on March 3rd") == [
        ("date", "March 3rd", calendar_date("2026-03-03"))
    ]
    assert found("I paid on 5 May") == [("date", "5 May", calendar_date("2025-05-05"))]


def test_a_day_without_a_year_is_the_next_one_otherwise():
    assert found("Can I schedule a transfer for 5 May?") == [
        ("date", "5 May", calendar_date("2026-05-05"))
    ]
    assert found("Can I schedule it for March 3rd?") == [
        ("date", "March 3rd", calendar_date("2027-03-03"))
    ]


def test_an_impossible_date_is_not_a_date():
    assert found("The app shows 31/02/2026 and 30 February") == []


def test_a_card_expiry_is_not_a_date():
    assert found("My card expires 03/27") == []


def test_a_sort_code_is_not_a_date():
    assert found("My sort code is 10-01-15") == []


def test_month_names_that_are_ordinary_words_need_a_day_number():
    assert found("May I change my PIN? I will march into the branch in may.") == []


@pytest.mark.parametrize(
    ("message", "text", "iso"),
    [
        ("I topped up today", "today", "2026-03-11"),
        ("The payment left yesterday", "yesterday", "2026-03-10"),
        ("Will it arrive tomorrow?", "tomorrow", "2026-03-12"),
        ("I need it the day after tomorrow", "day after tomorrow", "2026-03-13"),
        ("I was charged last Monday", "last Monday", "2026-03-09"),
        ("Can it arrive next Friday?", "next Friday", "2026-03-13"),
        ("Could it come next Wednesday?", "next Wednesday", "2026-03-18"),
        ("Did it go out last Wednesday?", "last Wednesday", "2026-03-04"),
        ("I sent it 3 days ago", "3 days ago", "2026-03-08"),
        ("I ordered a card two weeks ago", "two weeks ago", "2026-02-25"),
        ("I got the card a month ago", "a month ago", "2026-02-11"),
        ("I paid a couple of days ago", "a couple of days ago", "2026-03-09"),
        ("Will it be there in 2 days?", "in 2 days", "2026-03-13"),
        ("Will it be there in a week?", "in a week", "2026-03-18"),
        ("Why was I charged twice last week?", "last week", "2026-03-02"),
        ("Will the fee change next month?", "next month", "2026-04-01"),
        ("How much have I spent this year", "this year", "2026-01-01"),
    ],
)
def test_relative_dates_are_resolved_against_today(message, text, iso):
    assert found(message) == [("date", text, relative_date(iso))]


def test_a_weekday_in_a_past_tense_message_is_the_last_one():
    assert found("I paid on Friday") == [("date", "Friday", relative_date("2026-03-06"))]


def test_a_weekday_in_a_past_tense_message_may_be_today():
    assert found("I made a payment on Wednesday") == [
        ("date", "Wednesday", relative_date("2026-03-11"))
    ]


def test_a_weekday_otherwise_is_the_next_one():
    assert found("Will it arrive by Friday?") == [("date", "Friday", relative_date("2026-03-13"))]


def test_a_month_back_from_the_31st_is_the_end_of_the_shorter_month():
    assert found("I got the card a month ago", today=datetime.date(2026, 3, 31)) == [
        ("date", "a month ago", relative_date("2026-02-28"))
    ]


def test_dates_are_resolved_against_the_system_date_by_default():
    (entity,) = extract_entities("I topped up today")

    assert entity.value == relative_date(datetime.date.today().isoformat())


# Card endings


@pytest.mark.parametrize(
    "message",
    [
        "Is my card ending 1234 blocked?",
        "The one ending in 1234 was declined",
        "last four digits 1234",
        "The last 4 digits of my card are 1234",
        "My card 1234 was swallowed by the ATM",
        "Please freeze card #1234",
    ],
)
def test_the_last_four_digits_are_found_after_a_cue(message):
    assert found(message) == [("card_last4", "1234", "1234")]


def test_a_cued_card_ending_spans_only_its_digits():
    assert extract_entities("Is my card ending 1234 blocked?", today=TODAY) == [
        Entity("card_last4", "1234", 18, 22, "1234")
    ]


@pytest.mark.parametrize(
    ("message", "text"),
    [
        ("I see **** 1234 on the receipt", "**** 1234"),
        ("The card xxxx-xxxx-xxxx-1234 was charged", "xxxx-xxxx-xxxx-1234"),
        ("Payment from •••• 1234 failed", "•••• 1234"),
    ],
)
def test_a_masked_card_number_gives_its_last_four_digits(message, text):
    assert found(message) == [("card_last4", text, "1234")]


def test_a_full_card_number_is_reported_masked_with_offsets_on_the_number():
    message = "My card number is 4111 1111 1111 1111, is it blocked?"

    entities = extract_entities(message, today=TODAY)

    assert entities == [Entity("card_last4", "•••• 1111", 18, 37, "1111")]
    assert message[18:37] == "4111 1111 1111 1111"
    assert "4111 1111" not in json.dumps([entity.as_dict() for entity in entities])


def test_a_full_card_number_after_the_word_card_is_one_entity():
    assert found("Block card 4111-1111-1111-1111 please") == [("card_last4", "•••• 1111", "1111")]


def test_a_long_number_that_fails_the_luhn_check_is_not_a_card():
    assert found("My card number is 4111 1111 1111 1112") == []


# Masking card numbers


@pytest.mark.parametrize(
    ("message", "masked_message"),
    [
        ("My card is 4111 1111 1111 1111, please help", "My card is •••• 1111, please help"),
        ("4111-1111-1111-1111 and 4111111111111111", "•••• 1111 and •••• 1111"),
        ("My Amex is 378282246310005", "My Amex is •••• 0005"),
    ],
)
def test_card_numbers_are_masked_to_their_last_four_digits(message, masked_message):
    assert mask_card_numbers(message) == masked_message


@pytest.mark.parametrize(
    "message",
    [
        "Reference 1234 5678 9012 3456 is not a card",
        "Call +44 20 7946 0958 or 07700 900123",
        "Sort code 12-34-56, account 12345678",
        "No numbers here at all",
    ],
)
def test_text_without_a_valid_card_number_is_left_alone(message):
    assert mask_card_numbers(message) == message


# Countries and regions


@pytest.mark.parametrize(
    ("message", "text", "code"),
    [
        ("Can I use my card in Germany?", "Germany", "DE"),
        ("I moved to the UK, can I keep my account?", "UK", "GB"),
        ("I live in Great Britain", "Great Britain", "GB"),
        ("Does it work in the US?", "US", "US"),
        ("can i use it in the us", "us", "US"),
        ("Are US customers allowed?", "US", "US"),
        ("I'm moving to the USA", "USA", "US"),
        ("Is it accepted in the U.S.", "U.S.", "US"),
        ("Is it accepted in America?", "America", "US"),
        ("Can I send money to the Netherlands?", "Netherlands", "NL"),
        ("I'm on holiday in Holland", "Holland", "NL"),
        ("Can I send money to the UAE?", "UAE", "AE"),
        ("My card doesn't work in Turkey", "Turkey", "TR"),
        ("My card doesn't work in Türkiye", "Türkiye", "TR"),
        ("Is Northern Ireland covered?", "Northern Ireland", "GB"),
        ("I'm travelling to North Korea", "North Korea", "KP"),
    ],
)
def test_countries_are_found_by_name_and_alias(message, text, code):
    assert found(message) == [("country", text, code)]


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("United Kingdom", "GB"), ("England", "GB"), ("Scotland", "GB"), ("Wales", "GB"),
        ("United States", "US"), ("Ireland", "IE"), ("France", "FR"), ("Spain", "ES"),
        ("Portugal", "PT"), ("Italy", "IT"), ("Belgium", "BE"), ("Luxembourg", "LU"),
        ("Austria", "AT"), ("Switzerland", "CH"), ("Liechtenstein", "LI"), ("Monaco", "MC"),
        ("Denmark", "DK"), ("Sweden", "SE"), ("Norway", "NO"), ("Finland", "FI"),
        ("Iceland", "IS"), ("Poland", "PL"), ("Czech Republic", "CZ"), ("Czechia", "CZ"),
        ("Slovakia", "SK"), ("Hungary", "HU"), ("Romania", "RO"), ("Bulgaria", "BG"),
        ("Greece", "GR"), ("Croatia", "HR"), ("Slovenia", "SI"), ("Estonia", "EE"),
        ("Latvia", "LV"), ("Lithuania", "LT"), ("Malta", "MT"), ("Cyprus", "CY"),
        ("Serbia", "RS"), ("Ukraine", "UA"), ("Russia", "RU"), ("Israel", "IL"),
        ("United Arab Emirates", "AE"), ("Saudi Arabia", "SA"), ("Qatar", "QA"),
        ("Egypt", "EG"), ("Morocco", "MA"), ("Nigeria", "NG"), ("Kenya", "KE"),
        ("Ghana", "GH"), ("South Africa", "ZA"), ("India", "IN"), ("Pakistan", "PK"),
        ("Bangladesh", "BD"), ("Sri Lanka", "LK"), ("China", "CN"), ("Hong Kong", "HK"),
        ("Taiwan", "TW"), ("Japan", "JP"), ("South Korea", "KR"), ("Singapore", "SG"),
        ("Malaysia", "MY"), ("Thailand", "TH"), ("Vietnam", "VN"), ("Indonesia", "ID"),
        ("Philippines", "PH"), ("Australia", "AU"), ("New Zealand", "NZ"), ("Canada", "CA"),
        ("Mexico", "MX"), ("Brazil", "BR"), ("Argentina", "AR"), ("Chile", "CL"),
        ("Colombia", "CO"), ("Peru", "PE"),
    ],
)  # fmt: skip
def test_each_supported_country_maps_to_its_iso_code(name, code):
    assert found(f"Can I send money to {name}?") == [("country", name, code)]


@pytest.mark.parametrize(
    ("message", "text", "code"),
    [
        ("and for Europe?", "Europe", "EEA"),
        ("Is it free in the EU?", "EU", "EU"),
        ("What about the European Economic Area?", "European Economic Area", "EEA"),
    ],
)
def test_europe_is_a_region(message, text, code):
    assert found(message) == [("region", text, code)]


@pytest.mark.parametrize(
    "message",
    [
        "Can you help us?",
        "PLEASE HELP US, MY CARD IS GONE",
        "I can't log in to the app",
        "I bought a turkey with my card",
        "We are travelling around South America",
        "Is this a European card?",
    ],
)
def test_ordinary_words_are_not_places(message):
    assert found(message) == []


# Overlaps, order and linking


def test_entities_come_in_reading_order():
    message = "I topped up €50 with card ending 4242 in Spain two days ago"

    assert found(message) == [
        ("amount", "€50", money("50", "EUR")),
        ("card_last4", "4242", "4242"),
        ("country", "Spain", "ES"),
        ("date", "two days ago", relative_date("2026-03-09")),
    ]


def test_overlapping_candidates_keep_the_longest():
    assert found("I sent 20 US dollars to the US") == [
        ("amount", "20 US dollars", money("20", "USD")),
        ("country", "US", "US"),
    ]
    assert found("Send 20 pounds on May 20") == [
        ("amount", "20 pounds", money("20", "GBP")),
        ("date", "May 20", calendar_date("2026-05-20")),
    ]


def test_a_longer_amount_wins_over_a_date_inside_it():
    assert found("Can I send May 20 pounds?") == [("amount", "20 pounds", money("20", "GBP"))]


def test_linked_entities_are_merged_with_the_linkers_name_as_source():
    linker = GraphLinkerStub("graph", {"Apple Pay": "product"})

    entities = extract_entities("Can I use Apple Pay in Germany?", today=TODAY, linkers=[linker])

    assert entities == [
        Entity("product", "Apple Pay", 10, 19, {"node": "Apple Pay"}, source="graph"),
        Entity("country", "Germany", 23, 30, "DE"),
    ]


def test_on_an_equal_span_the_rules_entity_wins_over_a_linked_one():
    linker = GraphLinkerStub("graph", {"Germany": "place"})

    entities = extract_entities("Can I use Apple Pay in Germany?", today=TODAY, linkers=[linker])

    assert entities == [Entity("country", "Germany", 23, 30, "DE")]


def test_a_longer_linked_name_wins_over_a_rule_entity_inside_it():
    linker = GraphLinkerStub("graph", {"transfer to Germany": "service"})

    assert found("How long does a transfer to Germany take?", linkers=[linker]) == [
        ("service", "transfer to Germany", {"node": "transfer to Germany"})
    ]


def test_a_longer_rule_entity_wins_over_a_linked_name_inside_it():
    linker = GraphLinkerStub("graph", {"dollars": "product"})

    assert found("I sent 20 US dollars", linkers=[linker]) == [
        ("amount", "20 US dollars", money("20", "USD"))
    ]


def test_entities_from_several_linkers_keep_their_own_source():
    products = GraphLinkerStub("products", {"Apple Pay": "product"})
    fees = GraphLinkerStub("fees", {"top-up fee": "fee"})

    entities = extract_entities(
        "Is there a top-up fee for Apple Pay?", today=TODAY, linkers=[products, fees]
    )

    assert [(entity.text, entity.source) for entity in entities] == [
        ("top-up fee", "fees"),
        ("Apple Pay", "products"),
    ]


def test_an_empty_message_has_no_entities():
    assert extract_entities("", today=TODAY) == []


def test_an_entity_as_a_dict_is_json_serialisable():
    (entity,) = extract_entities("I was charged €1,250.50", today=TODAY)

    as_dict = entity.as_dict()

    assert as_dict == {
        "type": "amount",
        "text": "€1,250.50",
        "start": 14,
        "end": 23,
        "value": {"amount": "1250.50", "currency": "EUR"},
        "source": "rules",
    }
    assert json.loads(json.dumps(as_dict)) == as_dict
