"""The answer benchmark measures what it claims: a generator that knows nothing of the bot, and a
scorer whose classes follow the replies."""

import ast
import csv
import sys
from pathlib import Path

import pytest
from django.conf import settings

BENCH = Path(__file__).resolve().parents[1] / "bench"
sys.path.insert(0, str(BENCH))

from answer_benchmark import Scorer  # noqa: E402
from bot_under_test import BotReply  # noqa: E402
from conversation_generator import (  # noqa: E402
    PATTERNS,
    ConversationGenerator,
    GraphFacts,
    phrasings_overlap,
    read_questions,
)

GRAPH = GraphFacts(Path(settings.DEMO_KNOWLEDGE_FILE))
TEST_QUESTIONS = Path(settings.DEMO_INTENTS_FILE).with_name("test.csv")


def test_the_generator_imports_nothing_of_the_project():
    tree = ast.parse((BENCH / "conversation_generator.py").read_text())
    modules = {
        name.split(".")[0]
        for node in ast.walk(tree)
        for name in (
            [alias.name for alias in node.names]
            if isinstance(node, ast.Import)
            else [node.module or ""]
            if isinstance(node, ast.ImportFrom)
            else []
        )
    }

    assert modules and modules <= set(sys.stdlib_module_names) | {"__future__"}


def test_no_phrasing_of_the_generator_is_a_training_example():
    texts = []
    for path in (settings.DEMO_INTENTS_FILE, settings.CONVERSATION_INTENTS_FILE):
        with open(path, newline="", encoding="utf-8") as file:
            texts += [row["text"] for row in csv.DictReader(file)]

    assert phrasings_overlap(texts) == []


def test_generated_conversations_cover_every_pattern_with_expectations_from_the_data():
    questions = read_questions(TEST_QUESTIONS)

    conversations = ConversationGenerator(questions, GRAPH, seed=3).conversations(200)
    again = ConversationGenerator(questions, GRAPH, seed=3).conversations(200)

    turns = [turn for conversation in conversations for turn in conversation.turns]
    assert {turn.pattern for turn in turns} == set(PATTERNS)
    assert [c.as_dict() for c in conversations] == [c.as_dict() for c in again]
    expected_intents = {i for turn in turns for i in turn.expect.get("topics", [])}
    assert expected_intents <= set(GRAPH.topic_of_intent)
    openers = [turn for turn in turns if turn.expect.get("opener")]
    # Every question that opens a topic is a real customer's, labelled by the data set.
    assert all(
        any(turn.text.endswith(question[1:]) for question in questions[turn.expect["topics"][0]])
        for turn in openers
    )


def reply(sources=(), decision="answer", offered=(), handoff=None):
    return BotReply(["..."], list(sources), decision, handoff, list(offered), None, {})


@pytest.mark.parametrize(
    ("bot", "expected"),
    [
        (reply(["topic:card_arrival", "process:card_delivery"]), "right"),
        (reply(["topic:card_delivery_estimate"]), "wrong"),
        (
            reply(decision="clarify", offered=["card_delivery_estimate", "card_arrival"]),
            "clarified",
        ),
        (reply(decision="clarify", offered=["card_delivery_estimate"]), "wrong"),
        (
            reply(["topic:card_delivery_estimate"], "tentative", offered=["card_arrival"]),
            "clarified",
        ),
        (reply(decision="unsure"), "fallback"),
        (reply(decision="handoff", handoff="low_confidence"), "handoff"),
    ],
)
def test_a_reply_is_scored_by_what_it_answered(bot, expected):
    verdict, _ = Scorer(GRAPH).classify({"topics": ["card_arrival"]}, bot)

    assert verdict == expected


def test_a_follow_up_that_must_use_a_thing_is_wrong_without_it():
    bot = reply(["topic:cash_withdrawal_charge"])

    verdict, got = Scorer(GRAPH).classify(
        {"topics": ["cash_withdrawal_charge"], "nodes": ["country:fr"]}, bot
    )

    assert verdict == "wrong" and "without country:fr" in got
