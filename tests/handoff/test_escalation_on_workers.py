"""Escalation through a real Celery worker over Redis: routed, offered, passed on when ignored."""

import time

import pytest

from handoff import actions
from handoff.models import Handoff

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

WAIT_SECONDS = 30


def wait_for(condition, what: str):
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    pytest.fail(f"waited {WAIT_SECONDS} s for {what}")


def test_an_ignored_offer_is_passed_to_the_next_agent_by_the_worker(
    requires_services, conversation, anna, ben
):
    handoff = actions.request_handoff(conversation.pk, "requested")

    first = wait_for(
        lambda: Handoff.objects.get(pk=handoff.pk).offered_to, "the worker to offer it"
    )
    # Nobody accepts: the worker's expiry (HANDOFF_OFFER_SECONDS=3 there) offers it to the other.
    second = wait_for(
        lambda: (
            (h := Handoff.objects.get(pk=handoff.pk)).offered_to not in (None, first)
            and h.offered_to
        ),
        "the offer to move on",
    )

    assert {first, second} == {anna, ben}
    assert list(Handoff.objects.get(pk=handoff.pk).passed_over.all()) == [first]
    accepted = actions.accept(handoff.pk, second)
    assert accepted.assigned_to == second


def test_two_agents_accepting_at_the_same_moment_on_postgresql_one_wins(
    requires_services, conversation, anna, ben
):
    import threading

    from django.db import connection

    handoff = actions.request_handoff(conversation.pk, "requested")
    start = threading.Barrier(2)
    outcomes = {}

    def accept(agent):
        start.wait()
        try:
            actions.accept(handoff.pk, agent)
            outcomes[agent.display_name] = "won"
        except actions.HandoffError as error:
            outcomes[agent.display_name] = error.code
        finally:
            connection.close()

    threads = [threading.Thread(target=accept, args=(agent,)) for agent in (anna, ben)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(outcomes.values()) == ["already_taken", "won"]
    winner = next(name for name, outcome in outcomes.items() if outcome == "won")
    assert Handoff.objects.get(pk=handoff.pk).assigned_to.display_name == winner
