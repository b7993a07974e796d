"""Agents' presence: consoles, heartbeats, the reload grace, and what an agent's leaving moves.

The clock is given to the actions, and the scheduled presence checks are recorded instead of run,
so each test runs the check itself at the moment it means: no waiting, no timers.
"""

import datetime

import pytest
from django.utils import timezone

from chatbot import actions as chat_actions
from chatbot.models import Conversation, Event
from handoff import actions
from handoff.models import Agent, AgentConnection, Handoff
from handoff.presence import PresenceTimes, has_gone, seconds_until_check
from tests.handoff.conftest import new_agent

pytestmark = [
    pytest.mark.databases,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("tasks_in_process"),
]

GRACE = 10
TIMEOUT = 60
T0 = datetime.datetime(2030, 1, 1, 9, 0, tzinfo=datetime.UTC)


def at(seconds: float) -> datetime.datetime:
    return T0 + datetime.timedelta(seconds=seconds)


@pytest.fixture(autouse=True)
def presence_settings(settings):
    settings.HANDOFF_HEARTBEAT_SECONDS = 20
    settings.HANDOFF_PRESENCE_TIMEOUT_SECONDS = TIMEOUT
    settings.HANDOFF_RECONNECT_GRACE_SECONDS = GRACE
    settings.CELERY_VISIBILITY_TIMEOUT_SECONDS = 3600


@pytest.fixture(autouse=True)
def scheduled_checks(monkeypatch) -> list[tuple[int, str, float]]:
    """Record the presence checks the actions schedule, rather than run them later."""
    scheduled = []
    monkeypatch.setattr(
        "handoff.tasks.schedule_presence_check",
        lambda agent_id, check, seconds: scheduled.append((agent_id, check, seconds)),
    )
    return scheduled


@pytest.fixture
def sent(monkeypatch) -> list[tuple[str, dict]]:
    """Record what is sent to visitors and consoles, as (group, frame)."""
    frames = []
    monkeypatch.setattr(
        "handoff.notify._send", lambda group, message: frames.append((group, message["frame"]))
    )
    return frames


def run_latest_check(scheduled, now: datetime.datetime) -> bool:
    agent_id, check, _ = scheduled[-1]
    return actions.check_presence(agent_id, check, now)


def is_online(agent: Agent) -> bool:
    return Agent.objects.get(pk=agent.pk).is_online


def visitor_frames(sent, conversation: Conversation) -> list[dict]:
    return [frame for group, frame in sent if group == f"conversation.{conversation.pk}"]


def new_conversation() -> Conversation:
    conversation = chat_actions.open_conversation(chat_actions.create_visitor().pk)
    chat_actions.record_visitor_message(conversation.pk, "c-1", "I need a person")
    return conversation


# The rules, in plain Python ---------------------------------------------------------------------


def test_an_online_agent_has_gone_once_every_console_has_lapsed():
    assert has_gone(True, [at(5), at(9)], now=at(10))
    assert not has_gone(True, [at(5), at(11)], now=at(10))
    assert not has_gone(False, [at(5)], now=at(10))
    assert not has_gone(True, [], now=at(10)), "no console recorded: nothing to judge by"


def test_the_next_check_comes_when_the_last_console_would_lapse_within_the_longest_countdown():
    assert seconds_until_check([at(70), at(40)], now=at(10), longest=30) == 30
    assert seconds_until_check([at(25)], now=at(10), longest=30) == 15
    assert seconds_until_check([at(10)], now=at(10), longest=30) == 0
    assert seconds_until_check([at(10.1)], now=at(10), longest=30) == 0.5
    assert seconds_until_check([], now=at(10), longest=30) is None


def test_a_heartbeat_keeps_a_console_alive_for_the_timeout_and_a_close_for_the_grace():
    times = PresenceTimes(heartbeat_seconds=20, timeout_seconds=60, grace_seconds=10)

    assert times.heard(at(0)) == at(60)
    assert times.closed(at(30)) == at(40)


# Consoles and checks -----------------------------------------------------------------------------


def test_an_agent_whose_only_console_closed_goes_away_at_the_end_of_the_grace(scheduled_checks):
    anna = new_agent("anna")
    actions.connection_opened(anna, "console-1", now=at(0))

    actions.connection_closed(anna, "console-1", now=at(100))

    assert scheduled_checks[-1][2] == GRACE
    assert not run_latest_check(scheduled_checks, now=at(100 + GRACE - 1))
    assert is_online(anna)
    assert run_latest_check(scheduled_checks, now=at(100 + GRACE))
    assert not is_online(anna)
    assert not AgentConnection.objects.filter(agent=anna).exists()


def test_a_reload_within_the_grace_keeps_the_agent_online_and_their_conversation(
    scheduled_checks, conversation
):
    anna = new_agent("anna")
    actions.connection_opened(anna, "console-1", now=at(0))
    handoff = actions.request_handoff(conversation.pk, "requested")
    actions.accept(handoff.pk, anna)
    actions.connection_closed(anna, "console-1", now=at(100))
    check_after_close = scheduled_checks[-1]

    actions.connection_opened(anna, "console-2", now=at(103))

    agent_id, check, _ = check_after_close
    assert not actions.check_presence(agent_id, check, now=at(100 + GRACE + 1))
    assert not run_latest_check(scheduled_checks, now=at(100 + GRACE + 1))
    handoff.refresh_from_db()
    assert is_online(anna)
    assert (handoff.status, handoff.assigned_to) == ("assigned", anna)
    assert list(AgentConnection.objects.values_list("channel_name", flat=True)) == ["console-2"]


def test_a_console_not_heard_from_within_the_timeout_counts_as_gone(scheduled_checks):
    # Given a console whose server process dies after one heartbeat: it never closes
    anna = new_agent("anna")
    actions.connection_opened(anna, "console-1", now=at(0))
    actions.connection_heard(anna, "console-1", now=at(20))

    still_there = run_latest_check(scheduled_checks, now=at(20 + TIMEOUT - 1))
    gone = run_latest_check(scheduled_checks, now=at(20 + TIMEOUT))

    assert (still_there, gone) == (False, True)
    assert scheduled_checks[-1][2] == 1, "looked again when the heartbeat's time ran out"
    assert not is_online(anna)


def test_an_agent_stays_online_while_one_of_their_tabs_is_open(scheduled_checks):
    anna = new_agent("anna")
    actions.connection_opened(anna, "tab-1", now=at(0))
    actions.connection_opened(anna, "tab-2", now=at(1))

    actions.connection_closed(anna, "tab-1", now=at(30))
    actions.connection_heard(anna, "tab-2", now=at(40))

    assert not actions.settle_presence(now=at(30 + GRACE + 1))
    assert not run_latest_check(scheduled_checks, now=at(30 + GRACE + 1))
    assert is_online(anna)
    assert list(AgentConnection.objects.values_list("channel_name", flat=True)) == ["tab-2"]


def test_a_check_scheduled_before_a_newer_one_changes_nothing(scheduled_checks):
    anna = new_agent("anna")
    actions.connection_opened(anna, "console-1", now=at(0))
    older = scheduled_checks[-1]
    actions.connection_closed(anna, "console-1", now=at(5))
    AgentConnection.objects.all().delete()  # as if the newer check had cleaned up

    assert not actions.check_presence(older[0], older[1], now=at(5 + GRACE + 1))
    assert is_online(anna)


def test_an_agent_made_online_without_a_console_is_left_alone():
    anna = new_agent("anna")

    assert actions.settle_presence(now=at(1000)) == []
    assert is_online(anna)


def test_a_dead_servers_consoles_do_not_keep_agents_available_to_the_next_visitor(conversation):
    # Given an agent whose only console lapsed long ago, on a server process that died
    anna = new_agent("anna")
    AgentConnection.objects.create(
        agent=anna,
        channel_name="died-with-its-process",
        live_until=timezone.now() - datetime.timedelta(seconds=1),
    )

    handoff = actions.request_handoff(conversation.pk, "requested")

    assert handoff.status == "unavailable"
    assert not is_online(anna)


# What moves when an agent leaves -----------------------------------------------------------------


def test_when_an_agent_goes_away_their_pending_offer_moves_on_at_once(conversation, sent):
    anna, ben = new_agent("anna"), new_agent("ben")
    handoff = actions.request_handoff(conversation.pk, "requested")
    handoff.refresh_from_db()
    first = handoff.offered_to

    actions.set_availability(first, False)

    handoff.refresh_from_db()
    assert handoff.offered_to == ({anna, ben} - {first}).pop()
    assert handoff.offer_count == 2
    assert list(handoff.passed_over.all()) == [first]
    assert (
        f"agent.{first.pk}",
        {"type": "released", "handoff_id": handoff.pk, "why": "agent_away"},
    ) in sent


def test_when_the_last_agent_goes_away_every_waiting_visitor_is_told_nobody_is_left(sent):
    anna = new_agent("anna")
    offered, unoffered = new_conversation(), new_conversation()
    first = actions.request_handoff(offered.pk, "requested")
    second = actions.request_handoff(unoffered.pk, "requested")
    Handoff.objects.filter(pk=second.pk).update(offered_to=None)

    actions.set_availability(anna, False)

    for conversation, handoff in ((offered, first), (unoffered, second)):
        handoff.refresh_from_db()
        conversation.refresh_from_db()
        assert (handoff.status, conversation.owner) == ("unavailable", "bot")
        assert visitor_frames(sent, conversation)[-1] == {
            "type": "handoff",
            "status": "unavailable",
            "why": "no_agent_online",
            "can_leave_message": True,
        }
        event = Event.objects.filter(conversation=conversation, kind="handoff").last()
        assert (event.data["status"], event.data["why"]) == ("unavailable", "no_agent_online")
    ticket = actions.leave_message(offered.pk, "Please call me back")
    assert ticket.handoff == first


def test_visitors_keep_waiting_while_another_agent_with_the_skill_is_online(conversation, sent):
    anna, ben = new_agent("anna"), new_agent("ben", capacity=1)
    actions.accept(actions.request_handoff(new_conversation().pk, "requested").pk, ben)
    handoff = actions.request_handoff(conversation.pk, "requested")

    actions.set_availability(anna, False)

    handoff.refresh_from_db()
    assert (handoff.status, handoff.offered_to) == ("waiting", None)
    assert visitor_frames(sent, conversation)[-1]["status"] == "waiting"


def test_the_conversations_of_an_agent_gone_past_the_grace_go_to_the_next_agent(
    scheduled_checks, conversation, sent
):
    anna = new_agent("anna")
    actions.connection_opened(anna, "console-1", now=at(0))
    handoff = actions.request_handoff(conversation.pk, "requested")
    actions.accept(handoff.pk, anna)
    ben = new_agent("ben")
    actions.connection_closed(anna, "console-1", now=at(100))

    assert run_latest_check(scheduled_checks, now=at(100 + GRACE))

    handoff.refresh_from_db()
    conversation.refresh_from_db()
    assert (handoff.status, handoff.assigned_to, handoff.offered_to) == ("waiting", None, ben)
    assert conversation.owner == "waiting"
    assert list(handoff.passed_over.all()) == [anna]
    event = Event.objects.filter(conversation=conversation, kind="handoff").last()
    assert event.text == "Anna had to leave. Connecting you to another member of our team…"
    assert visitor_frames(sent, conversation)[-1]["status"] == "waiting"
    assert (
        f"agent.{anna.pk}",
        {"type": "released", "handoff_id": handoff.pk, "why": "agent_gone"},
    ) in sent


def test_an_agent_coming_back_online_is_watched_again(scheduled_checks):
    anna = new_agent("anna", online=False)
    actions.connection_opened(anna, "console-1", now=timezone.now())
    scheduled_checks.clear()

    actions.set_availability(anna, True)

    assert [agent_id for agent_id, _, _ in scheduled_checks] == [anna.pk]
