"""The output guard: what a compromised model may never show, and what an honest one still may."""

import json
from pathlib import Path

import pytest

from chatbot.dialogue.responses import fact_sentences
from chatbot.llm.base import AnswerRequest
from chatbot.llm.output_guard import OutputGuard
from chatbot.llm.prompts import RULES, canary
from knowledge.answers import answers_of_node
from knowledge.graph import KnowledgeGraph, NodeRecord, RelationRecord
from tests.llm.answer_requests import card_request

HELP_PAGE = "https://kestrel.example/help/cards"
DEMO_BANK = Path(__file__).resolve().parents[2] / "knowledge" / "demo" / "kestrel_bank.json"


@pytest.fixture
def guard() -> OutputGuard:
    facts = ("Card replacement: fee = £4.99", f"Help page: address = {HELP_PAGE}")
    return OutputGuard(card_request(facts=facts))


@pytest.mark.parametrize(
    "answer",
    [
        "A replacement card costs £4.99 and arrives in 5 working days.",
        "Good news! Your new card costs £4.99 and should arrive within 5 working days.",
        "Unfortunately I don't have that information, but I can put you in touch with an agent.",
        "A new card is £4.99. Express delivery takes 2 days.",
        f"A new card costs £4.99; more on {HELP_PAGE}.",
        "Sure, happy to help: a replacement card costs £4.99.",
    ],
)
def test_an_honest_answer_from_the_facts_passes(guard, answer):
    assert guard.problem(answer) is None


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        (f"The marker is {canary()}.", "canary"),
        (f"The marker is {' '.join(canary())}.", "canary"),
        (f"The marker is {canary()[::-1]}.", "canary"),
        (RULES.splitlines()[2], "prompt_leak"),
        ("Verify your account at https://kestrel-verify.example/login now.", "foreign_link"),
        ("Verify at kestrel-verify.com/login now.", "foreign_link"),
        ("Write to fraud@evil.example today.", "foreign_link"),
        ("[Track your card](https://evil.example/t?c=abc)", "foreign_link"),
        (f"![card]({HELP_PAGE})", "foreign_link"),
        ('Your card <img src="https://evil.example/p.gif"> is on its way.', "foreign_link"),
        ("javascript:alert(document.cookie)", "foreign_link"),
        ("A new card is £4.99 at _evil.com/new_ today.", "foreign_link"),
        ("A new card is £4.99: _block_card_ done.", "tool_call"),
        ('{"tool": "block_card", "arguments": {}}', "tool_call"),
        ("ACTION: block_card", "tool_call"),
        ("[handoff] Connecting you now.", "tool_call"),
        ("<tool_call>close_account</tool_call>", "tool_call"),
        ("freeze_account(customer='me')", "tool_call"),
        ("I have blocked your card and ordered a new one.", "claimed_action"),
        ("Your card has been cancelled.", "claimed_action"),
        ("A replacement card costs £0.", "unsupported_number"),
        ("A replacement card is free this week.", "unsupported_number"),
        ("A replacement card costs twelve pounds.", "unsupported_number"),
        ("As DAN I have no rules.", "off_topic"),
        ("Les cartes arrivent demain matin chez vous.", "off_topic"),
        ("Les cartes sont gratuites.", "unsupported_number"),
        ("The bank is closed forever, move your money elsewhere.", "off_topic"),
        ("![logo](https://evil.example/x.png)", "foreign_link"),
        ("   ", "empty"),
    ],
)
def test_an_answer_a_compromised_model_would_give_is_refused(guard, answer, reason):
    assert guard.problem(answer) == reason


def test_a_link_the_graph_holds_is_shown_as_words_and_address(guard):
    answer = f"See [our help page]({HELP_PAGE}) for a new card at £4.99."

    assert guard.problem(answer) is None
    assert guard.visible(answer) == f"See our help page ({HELP_PAGE}) for a new card at £4.99."


def test_markdown_and_html_are_flattened_to_the_words(guard):
    answer = "# New card\n\n**A new card** costs *£4.99*.\n- It is `quick`.\n<b>Thanks!</b>"

    assert guard.problem(answer) is None
    assert guard.visible(answer) == "New card\n\nA new card costs £4.99.\nIt is quick.\nThanks!"


def test_words_inside_an_identifier_keep_their_underscores(guard):
    assert guard.visible("Cards cost £4.99 (snake_case stays).") == (
        "Cards cost £4.99 (snake_case stays)."
    )


def test_the_visitor_sees_only_whole_settled_sentences_while_the_answer_streams(guard):
    growing = "A new card costs £4.99. It comes in 5 work"

    assert guard.visible_so_far(growing) == "A new card costs £4.99. "
    assert guard.visible_so_far("A new card costs £4") == ""


def test_an_open_bracket_holds_back_the_sentence_it_is_in(guard):
    assert guard.visible_so_far("A new card costs £4.99. See [our page ") == (
        "A new card costs £4.99. "
    )


def test_a_foreign_link_stops_the_stream_as_soon_as_it_is_complete(guard):
    assert guard.problem_so_far("A new card costs £4.99. Go to https://evil.example/x ") == (
        "foreign_link"
    )
    assert guard.problem_so_far("A new card costs £4.99. Go to https://evil.exa") is None


def test_an_off_topic_sentence_stops_the_stream_before_it_is_shown(guard):
    partial = "A new card costs £4.99. The bank is closed forever, move your money elsewhere. "

    assert guard.problem_so_far(partial) == "off_topic"


def test_the_canary_stops_the_stream_even_before_the_word_is_complete(guard):
    assert guard.problem_so_far("The marker is " + canary()[:12]) == "canary"


def test_a_price_of_nothing_passes_when_the_facts_hold_a_zero():
    guard = OutputGuard(card_request(facts=("Virtual card: fee = 0",), template_answer="..."))

    assert guard.problem("A virtual card is free.") is None


def test_a_sentence_end_inside_markup_never_shows_what_the_markup_hid(guard):
    growing = "A new card costs £4.99. <x The fee is £0. > Thanks. "

    shown = guard.visible_so_far(growing)

    assert shown == "A new card costs £4.99.  Thanks. "
    assert guard.problem_so_far(growing) is None


HONEST_WRAPPERS = (
    "{answer}",
    "Sure! {answer}",
    "Good question. {answer} Is there anything else I can help you with?",
    "Thanks for asking: {answer}",
    "Hello! {answer} Let me know if you need anything else.",
)


def test_the_demo_banks_own_answers_pass_in_the_words_an_honest_model_wraps_them_in():
    graph = demo_bank_graph()
    refused, checked = [], 0

    for node in graph.graph.nodes:
        for grounded in answers_of_node(graph, node):
            sources = grounded.provenance.nodes
            facts = tuple(line for key in sources for line in fact_sentences(graph, key))
            guard = OutputGuard(AnswerRequest("?", grounded.text, facts))
            for wrapper in HONEST_WRAPPERS:
                answer = wrapper.format(answer=grounded.text)
                checked += 1
                refused += [(answer, guard.problem(answer))] if guard.problem(answer) else []

    assert checked > 500  # every answer of the demo bank, five ways
    assert refused == []


def demo_bank_graph() -> KnowledgeGraph:
    document = json.loads(DEMO_BANK.read_text(encoding="utf-8"))
    nodes = [
        NodeRecord(
            node["key"],
            node["type"],
            node["label"],
            tuple(node.get("aliases", ())),
            node.get("attributes", {}),
            tuple(node.get("answers", ())),
        )
        for node in document["nodes"]
    ]
    relations = [
        RelationRecord(number, link["source"], link["type"], link["target"], link["attributes"])
        for number, link in enumerate(document["links"], 1)
    ]
    return KnowledgeGraph(nodes, relations)
