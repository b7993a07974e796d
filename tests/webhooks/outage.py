"""Events delivered through a receiver's outage: the same story embedded and on workers.

Embedded, the test's SQLite database is in memory and shared between threads, where a read
meeting another thread's write fails at once instead of waiting. So while delivery threads
run, the test watches only the receiver and in-process counters, and reads the database once
they are done.
"""

from collections.abc import Callable

from django.db import transaction

from chatbot import actions
from chatbot.webhooks.models import Delivery, DeliveryAttempt, DeliveryLine
from knowledge import actions as knowledge_actions
from tests.webhooks.conftest import subscribe
from tests.webhooks.receiver import Receiver, wait_for


def deliver_through_an_outage(
    failed_attempts: Callable[[], int], settled: Callable[[], bool]
) -> None:
    """Events happen while the receiver is down; once it is back, each arrives, in order.

    `failed_attempts` counts failed attempts so far; `settled` says that no delivery is
    being written now.
    """
    receiver = Receiver()  # down: nothing listens on its port yet
    subscription = subscribe(receiver.url)
    receiver.secret = subscription.secret
    with transaction.atomic():
        first = actions.open_conversation(actions.create_visitor().pk)
        second = actions.open_conversation(actions.create_visitor().pk)
        for number in range(3):
            actions.record_visitor_message(first.pk, f"a-{number}", f"first {number}")
            actions.record_visitor_message(second.pk, f"b-{number}", f"second {number}")
        knowledge_actions.create_node({"key": "product:spare", "type": "product", "label": "S"})
        expected = {str(pk) for pk in Delivery.objects.values_list("pk", flat=True)}
        lines = DeliveryLine.objects.count()
    assert len(expected) == 2 * 4 + 1 and lines == 3

    wait_for(lambda: failed_attempts() >= 2 * lines, "attempts to fail while it is down")
    receiver.up()
    try:
        wait_for(lambda: len(receiver.first_arrivals()) == len(expected), "every delivery")
        wait_for(settled, "the deliveries to be recorded")
    finally:
        receiver.down()

    assert receiver.bad_signatures == []
    arrived = receiver.first_arrivals()
    assert {envelope["id"] for envelope in arrived} == expected  # nothing lost
    assert all(envelope["webhook_id"] == envelope["id"] for envelope in arrived)
    by_key: dict[str, list[dict]] = {}
    for envelope in arrived:
        by_key.setdefault(envelope["ordering_key"], []).append(envelope)
    for key, envelopes in by_key.items():
        # In order, with no gap: 1, 2, 3... per conversation.
        assert [e["sequence"] for e in envelopes] == list(range(1, len(envelopes) + 1)), key
    assert [e["data"].get("text") for e in by_key[f"conversation:{first.pk}"]] == [
        None,
        "first 0",
        "first 1",
        "first 2",
    ]
    assert [e["type"] for e in by_key["knowledge"]] == ["knowledge.changed"]
    assert Delivery.objects.filter(status=Delivery.Status.DELIVERED).count() == len(expected)
    for line in DeliveryLine.objects.all():
        head = Delivery.objects.get(line=line, sequence=1)
        head_attempts = list(head.attempts.order_by("attempted_at", "pk"))
        assert not head_attempts[0].is_success and head_attempts[-1].is_success
        # Nothing behind the head was tried before the head got through.
        assert not DeliveryAttempt.objects.filter(
            delivery__line=line,
            delivery__sequence__gt=1,
            attempted_at__lt=head_attempts[-1].attempted_at,
        ).exists()
