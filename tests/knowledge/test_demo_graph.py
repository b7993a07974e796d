"""The demo bank's knowledge graph: it imports cleanly and answers every BANKING77 intent."""

import csv
import io

import pytest
from django.conf import settings
from django.core.management import call_command

from knowledge.answers import answer_for_intent
from knowledge.service import current_graph


@pytest.fixture
def demo_graph(db):
    call_command("import_knowledge", str(settings.DEMO_KNOWLEDGE_FILE), stdout=io.StringIO())
    return current_graph()


def demo_intents() -> set[str]:
    with open(settings.DEMO_INTENTS_FILE, newline="", encoding="utf-8") as file:
        return {row["category"] for row in csv.DictReader(file)}


def test_every_demo_intent_has_a_topic_whose_answer_is_grounded(demo_graph):
    intents = demo_intents()
    assert len(intents) == 77

    answers = {intent: answer_for_intent(demo_graph, intent) for intent in intents}

    assert sorted(intent for intent, answer in answers.items() if answer is None) == []
    assert all("{" not in answer.text for answer in answers.values())


def test_every_topic_is_linked_to_what_it_concerns(demo_graph):
    topics = [key for key in demo_graph.graph if demo_graph.node(key).type == "topic"]

    unlinked = [key for key in topics if not demo_graph.neighbours(key, "concerns").items]

    assert len(topics) == 77 and unlinked == []


def test_the_demo_graph_holds_products_processes_fees_limits_and_countries(demo_graph):
    types = [demo_graph.node(key).type for key in demo_graph.graph]

    for kind, least in [
        ("product", 5),
        ("process", 10),
        ("fee", 5),
        ("limit", 5),
        ("country", 20),
        ("currency", 10),
    ]:
        assert types.count(kind) >= least, kind


def test_visitors_words_link_to_demo_nodes(demo_graph):
    linked = {
        key
        for mention in demo_graph.link("Can I top up my virtual card with Apple Pay in France?")
        for key in mention.candidates
    }

    assert len(linked) >= 3
