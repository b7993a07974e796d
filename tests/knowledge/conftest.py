"""A small bank graph, as a JSON document and imported, for the knowledge tests."""

import copy

import pytest
from django.contrib.auth.models import User

from chatbot.staff_users import add_staff_user
from knowledge.importing import import_document
from knowledge.interchange import document_from_json

SMALL_BANK = {
    "format": "knowledge-graph",
    "version": 1,
    "nodes": [
        {
            "key": "process:card_delivery",
            "type": "process",
            "label": "Card delivery",
            "aliases": ["card shipping", "delivery of my card"],
            "attributes": {"standard_days": 5, "express_days": 2},
            "answers": [],
        },
        {
            "key": "product:standard_card",
            "type": "product",
            "label": "Standard card",
            "aliases": ["debit card", "physical card"],
            "attributes": {"scheme": "Visa", "currencies": ["GBP", "EUR"]},
            "answers": ["Our standard card is a {product:standard_card.scheme} debit card."],
        },
        {
            "key": "product:virtual_card",
            "type": "product",
            "label": "Virtual card",
            "aliases": ["online card"],
            "attributes": {"fee": 0},
            "answers": [],
        },
        {
            "key": "fee:express_delivery",
            "type": "fee",
            "label": "Express delivery fee",
            "aliases": [],
            "attributes": {"amount": 4.99, "currency": "GBP"},
            "answers": [],
        },
        {
            "key": "country:fr",
            "type": "country",
            "label": "France",
            "aliases": ["French"],
            "attributes": {"code": "FR"},
            "answers": [],
        },
        {
            "key": "country:gb",
            "type": "country",
            "label": "United Kingdom",
            "aliases": ["UK", "Britain"],
            "attributes": {"code": "GB"},
            "answers": [],
        },
        # Two topics share a label on purpose: a mention of it is ambiguous.
        {
            "key": "topic:card_arrival",
            "type": "topic",
            "label": "Card arrival",
            "aliases": [],
            "attributes": {"intent": "card_arrival"},
            "answers": [
                "Cards arrive within {process:card_delivery.standard_days} working days, or "
                "{process:card_delivery.express_days} with express delivery for "
                "{fee:express_delivery.amount} {fee:express_delivery.currency}."
            ],
        },
        {
            "key": "topic:card_delivery_estimate",
            "type": "topic",
            "label": "Card arrival",
            "aliases": [],
            "attributes": {"intent": "card_delivery_estimate"},
            "answers": ["Delivery takes {process:card_delivery.standard_days} working days."],
        },
    ],
    "links": [
        {
            "source": "topic:card_arrival",
            "type": "concerns",
            "target": "process:card_delivery",
            "attributes": {},
        },
        {
            "source": "topic:card_arrival",
            "type": "concerns",
            "target": "product:standard_card",
            "attributes": {},
        },
        {
            "source": "process:card_delivery",
            "type": "delivers",
            "target": "product:standard_card",
            "attributes": {},
        },
        {
            "source": "process:card_delivery",
            "type": "has_fee",
            "target": "fee:express_delivery",
            "attributes": {"option": "express"},
        },
        {
            "source": "product:standard_card",
            "type": "available_in",
            "target": "country:gb",
            "attributes": {},
        },
        {
            "source": "product:standard_card",
            "type": "available_in",
            "target": "country:fr",
            "attributes": {},
        },
        {
            "source": "product:virtual_card",
            "type": "available_in",
            "target": "country:gb",
            "attributes": {},
        },
        {
            "source": "topic:card_delivery_estimate",
            "type": "related_topic",
            "target": "topic:card_arrival",
            "attributes": {},
        },
    ],
}


@pytest.fixture
def small_bank() -> dict:
    """Return a fresh copy of the small bank's JSON document."""
    return copy.deepcopy(SMALL_BANK)


@pytest.fixture
def stored_bank(db, small_bank) -> dict:
    """Import the small bank into the test database; return its document."""
    import_document(document_from_json(small_bank))
    return small_bank


@pytest.fixture
def editor(db) -> User:
    """Eddie, a knowledge editor."""
    return add_staff_user("eddie", "correct horse", "editor")


@pytest.fixture
def other_editor(db) -> User:
    """Erin, another knowledge editor."""
    return add_staff_user("erin", "battery staple", "editor")


@pytest.fixture
def plain_user(db) -> User:
    """Pat, logged in but no editor: none of the editor is Pat's."""
    return User.objects.create_user("pat", password="no rights here")
