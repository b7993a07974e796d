"""Celery envelopes of the handoff: route a conversation, expire an offer, check presence."""

from threading import Timer

from celery import shared_task

from handoff import actions


@shared_task(name="handoff.route", acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def route_handoff(handoff_id: int) -> None:
    """Offer a waiting conversation to the best available agent."""
    actions.route(handoff_id)


@shared_task(
    name="handoff.expire_offer", acks_late=True, reject_on_worker_lost=True, ignore_result=True
)
def expire_offer(handoff_id: int, offer_number: int) -> None:
    """Pass an offer nobody accepted in time on to the next agent."""
    actions.expire_offer(handoff_id, offer_number)


def schedule_offer_expiry(handoff_id: int, offer_number: int, seconds: float) -> None:
    """Expire the offer after `seconds`, unless it was accepted or declined by then."""
    if expire_offer.app.conf.task_always_eager:
        _run_in_process_later(seconds, expire_offer, (handoff_id, offer_number))
    else:
        # The countdown stays far below Redis's visibility timeout (60 s by default).
        expire_offer.apply_async((handoff_id, offer_number), countdown=seconds)


@shared_task(
    name="handoff.check_presence", acks_late=True, reject_on_worker_lost=True, ignore_result=True
)
def check_presence(agent_id: int, check: str) -> None:
    """Send away an agent whose consoles have all lapsed, or look again later."""
    actions.check_presence(agent_id, check)


def schedule_presence_check(agent_id: int, check: str, seconds: float) -> None:
    """Check the agent's presence after `seconds`; a newer check for the agent replaces this one."""
    if not check_presence.app.conf.task_always_eager:
        check_presence.apply_async((agent_id, check), countdown=seconds)
    elif seconds <= 0:
        check_presence.apply(args=(agent_id, check))
    else:
        _run_in_process_later(seconds, check_presence, (agent_id, check))


def _run_in_process_later(seconds: float, task, args: tuple) -> None:
    # Tasks run in-process on the embedded default, where a countdown would run at once.
    timer = Timer(seconds, task.apply, args=(args,))
    timer.daemon = True
    timer.start()
