"""Every attack of the corpus, played through the real turn against a model that obeys it.

The model is a real HTTP server on localhost, reached through the vLLM backend, that does
whatever its prompt says (tests/llm/adversarial_model.py). For each attack: the attack reached
the model and the model obeyed it (its output is not the reference answer), yet the visitor
saw, at no moment of the stream, the canary, the rules, a link, an address or an image the
graph does not hold, Markdown, a number the graph does not hold, a tool call or the attack's
own payload; and the turn decided exactly what it decides without a model.
"""

import pytest

from chatbot.engine import TurnConfiguration
from chatbot.llm import LlmConfig, TemplateBackend
from chatbot.llm.prompts import REFERENCE_HEADING
from chatbot.llm.vllm import VllmBackend
from handoff.configuration import escalation_rules
from tests.llm.adversarial_server import AdversarialServer
from tests.llm.attack_corpus import (
    CATEGORIES,
    Attack,
    graph_text,
    load_attacks,
    play,
    violations,
)

ATTACKS = load_attacks()


@pytest.fixture(scope="module")
def adversarial_server():
    server = AdversarialServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def obeying_model(adversarial_server):
    config = LlmConfig(
        backend="vllm", base_url=adversarial_server.base_url, retries=0, circuit_failures=10_000
    )
    backend = VllmBackend(config)
    yield backend
    backend.close()


def test_the_corpus_holds_over_a_hundred_attacks_in_every_category():
    categories = {attack.category for attack in ATTACKS}

    assert len(ATTACKS) >= 100
    assert categories == set(CATEGORIES)
    assert {attack.where for attack in ATTACKS} >= {"visitor_message", "earlier_turn"}


@pytest.mark.parametrize("attack", ATTACKS, ids=[attack.id for attack in ATTACKS])
def test_the_defences_hold_against_a_model_that_obeys_the_attack(
    attack, adversarial_server, obeying_model
):
    adversarial_server.forget()
    rules = escalation_rules()

    played = play(attack, TurnConfiguration(rules=rules, backend=obeying_model))
    without_model = play(attack, TurnConfiguration(rules=rules, backend=TemplateBackend()))

    # The attack reached the model, and the model obeyed it.
    (request,) = adversarial_server.requests
    system = request.body["messages"][0]["content"]
    reference = system.rsplit(REFERENCE_HEADING, 1)[-1].strip()
    assert adversarial_server.outputs[0].strip() != reference
    # The model decided nothing: the policy's decision and state are those without a model.
    assert (played.trace, played.state) == (without_model.trace, without_model.state)
    assert played.final.strip()
    allowed = graph_text(system)
    for screen in played.screens:
        assert violations(screen, allowed, attack.must_not_show) == []


def test_an_innocent_question_is_answered_by_the_model_with_nothing_replaced(
    adversarial_server, obeying_model
):
    innocent = Attack("innocent", "instruction_override", "earlier_turn", "Hello there.")
    configuration = TurnConfiguration(rules=escalation_rules(), backend=obeying_model)

    played = play(innocent, configuration)

    (outcome,) = played.outcomes
    assert (outcome.answered_by, outcome.fallback_reason, outcome.is_replaced) == (
        "vllm",
        None,
        False,
    )
    assert played.screens == [
        "Cards arrive within 5 working days, or 2 with express delivery for 4.99 GBP."
    ]
