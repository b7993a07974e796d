"""Two editors saving the same node at the same moment, on PostgreSQL: one wins, one is told."""

import threading

import pytest
from django.db import connection

from knowledge import actions
from knowledge.models import Change, Node

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


def test_of_two_simultaneous_saves_of_one_version_exactly_one_wins(
    requires_services, stored_bank, editor, other_editor
):
    version = Node.objects.get(key="country:fr").version
    start = threading.Barrier(2)
    outcomes: dict[str, str] = {}

    def save(user, label: str) -> None:
        start.wait()
        try:
            actions.update_node("country:fr", {"label": label}, version, user)
            outcomes[label] = "saved"
        except actions.Conflict:
            outcomes[label] = "conflict"
        finally:
            connection.close()

    threads = [
        threading.Thread(target=save, args=(editor, "Eddie's France")),
        threading.Thread(target=save, args=(other_editor, "Erin's France")),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(outcomes.values()) == ["conflict", "saved"]
    (winner,) = [label for label, outcome in outcomes.items() if outcome == "saved"]
    node = Node.objects.get(key="country:fr")
    assert (node.label, node.version) == (winner, version + 1)
    assert Change.objects.filter(target="country:fr", action="update").count() == 1
