"""Escalation triggers, routing, business hours and the ownership state machine: plain Python."""

import datetime

import pytest

from chatbot.dialogue.escalation import EscalationRules, escalation_reason, is_explicit_request
from handoff.hours import BadHours, is_open, parse_hours
from handoff.routing import AgentSlot, choose_agent, estimated_wait_seconds, skill_for_intent
from handoff.state_machine import TransitionNotAllowed, bot_may_answer, check_transition

RULES = EscalationRules(
    unclear_turns=3, frustration=0.7, sensitive_intents=("compromised_card",), flow_retries=2
)
CALM = dict(
    decision="answer",
    intent="card_arrival",
    is_confident=True,
    unclear_streak=0,
    frustration=0.0,
    flow_retries=0,
    is_repeat=False,
)


def reason(text="where is my card", **changes):
    return escalation_reason(RULES, text=text, **{**CALM, **changes})


@pytest.mark.parametrize(
    "text",
    [
        "I want to talk to a human",
        "can I speak with an agent please",
        "let me chat to a real person",
        "Real person!",
        "human agent",
        "I need a customer service representative",
    ],
)
def test_asking_for_a_person_in_words_escalates_as_requested(text):
    assert is_explicit_request(text) and reason(text) == "requested"


@pytest.mark.parametrize(
    "text", ["how do humans verify identity", "my agent code is 1234", "personal details"]
)
def test_words_that_merely_mention_people_do_not_escalate(text):
    assert reason(text) is None


def test_each_trigger_gives_its_reason():
    assert reason(intent="compromised_card") == "sensitive_intent"
    assert reason(intent="compromised_card", decision="flow_started") is None
    assert reason(intent="compromised_card", is_confident=False) is None
    assert reason(frustration=0.7) == "frustration"
    assert reason(decision="unsure", unclear_streak=3) == "low_confidence"
    assert reason(decision="unsure", unclear_streak=2) is None
    assert reason(decision="answer", unclear_streak=5) is None
    assert reason(flow_retries=2) == "failed_flow"
    assert reason(is_repeat=True) == "repeated_question"
    assert reason(is_repeat=True, decision="thanks") is None


def test_only_the_configured_triggers_escalate():
    rules = EscalationRules(triggers=("requested",))

    assert escalation_reason(rules, text="talk to a human", **CALM) == "requested"
    assert escalation_reason(rules, text="hm", **{**CALM, "frustration": 1.0}) is None


def test_disabled_rules_never_escalate():
    rules = EscalationRules(is_enabled=False)

    assert escalation_reason(rules, text="talk to a human", **CALM) is None


NOW = datetime.datetime(2026, 11, 28, 12, 0, tzinfo=datetime.UTC)


def agent(id, online=True, skills=("cards",), open=0, capacity=3, idle_minutes=0):
    return AgentSlot(
        id,
        online,
        frozenset(skills),
        open,
        capacity,
        NOW - datetime.timedelta(minutes=idle_minutes),
    )


def test_routing_takes_the_least_loaded_then_the_longest_idle_agent_with_the_skill():
    agents = [
        agent(1, open=2),
        agent(2, open=1, idle_minutes=5),
        agent(3, open=1, idle_minutes=20),
        agent(4, open=0, skills=("payments",)),
        agent(5, online=False, open=0),
        agent(6, open=3, capacity=3),
    ]

    assert choose_agent(agents, "cards").id == 3
    assert choose_agent(agents, "payments").id == 4
    assert choose_agent(agents, None).id == 4
    assert choose_agent(agents, "mortgages") is None


def test_load_is_measured_against_capacity():
    assert (
        choose_agent([agent(1, open=1, capacity=2), agent(2, open=2, capacity=8)], "cards").id == 2
    )


def test_agents_passed_over_are_asked_only_when_nobody_else_can():
    agents = [agent(1, idle_minutes=30), agent(2, open=2)]

    assert choose_agent(agents, "cards", passed_over={1}).id == 2
    assert choose_agent(agents, "cards", passed_over={1, 2}).id == 1


def test_a_skill_is_chosen_by_intent_and_the_wait_by_position():
    skills = {
        "cards": ["lost_or_stolen_card", "compromised_card"],
        "transfers": ["cancel_transfer"],
    }

    assert skill_for_intent("compromised_card", skills) == "cards"
    assert skill_for_intent("exchange_rate", skills) is None
    assert estimated_wait_seconds(position=3, agents_able=2, average_wait_seconds=60) == 90
    assert estimated_wait_seconds(position=1, agents_able=0, average_wait_seconds=60) == 60


def test_business_hours():
    hours = parse_hours("mon-fri 08:00-20:00; sat 09:00-13:00")
    saturday = datetime.datetime(2026, 11, 28, 10, 30)
    sunday = datetime.datetime(2026, 11, 29, 10, 30)
    monday_night = datetime.datetime(2026, 11, 30, 21, 0)

    assert (
        is_open(hours, saturday) and not is_open(hours, sunday) and not is_open(hours, monday_night)
    )
    assert is_open(parse_hours("always"), sunday)
    assert parse_hours("fri-mon 10:00-11:00")[0][0] == {4, 5, 6, 0}
    with pytest.raises(BadHours):
        parse_hours("weekdays 9 to 5")
    with pytest.raises(BadHours):
        parse_hours("mon 18:00-09:00")


@pytest.mark.parametrize(
    "move",
    [
        ("bot", "waiting"),
        ("waiting", "agent"),
        ("waiting", "bot"),
        ("agent", "bot"),
        ("agent", "closed"),
        ("agent", "waiting"),
    ],
)
def test_allowed_ownership_moves(move):
    check_transition(*move)


@pytest.mark.parametrize(
    "move", [("bot", "agent"), ("closed", "bot"), ("closed", "agent"), ("bot", "bot")]
)
def test_other_moves_are_refused(move):
    with pytest.raises(TransitionNotAllowed):
        check_transition(*move)


def test_only_the_bot_owner_lets_the_bot_answer():
    assert [bot_may_answer(owner) for owner in ("bot", "waiting", "agent", "closed")] == [
        True,
        False,
        False,
        False,
    ]
