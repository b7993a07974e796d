"""Celery envelopes of webhook delivery (the `webhooks` queue); threads when embedded."""

import logging
import threading

from celery import shared_task
from django.conf import settings
from django.db import connection

from chatbot.webhooks import delivery

logger = logging.getLogger(__name__)
Timer = threading.Timer
# Embedded, one delivery at a time: SQLite takes one writer at a time (see
# chatbot.database_threads), and the process has a web server to run besides.
_in_process = threading.Lock()
THREAD_NAME_PREFIX = "webhook-line-"


@shared_task(
    name="webhooks.deliver", acks_late=True, reject_on_worker_lost=True, ignore_result=True
)
def deliver(line_id: int) -> None:
    """Send a line's due deliveries in order; come back when its head is due again."""
    wait = delivery.deliver_line(line_id)
    if wait is not None:
        schedule_line(line_id, wait)


def schedule_line(line_id: int, seconds: float = 0.0) -> None:
    """Look at the line in `seconds`: on a worker, or on a thread of this process embedded."""
    if deliver.app.conf.task_always_eager:
        # In-process, but never in the caller's thread: a slow receiver must not hold up a turn.
        timer = Timer(max(seconds, 0.0), _deliver_here, args=(line_id,))
        timer.name = f"{THREAD_NAME_PREFIX}{line_id}"
        timer.daemon = True
        timer.start()
    else:
        # Below the broker's visibility timeout, or a waiting task would be handed out twice;
        # a task woken before the head is due looks, and sleeps again.
        countdown = min(seconds, settings.CELERY_VISIBILITY_TIMEOUT_SECONDS / 2)
        deliver.apply_async((line_id,), countdown=max(countdown, 0.0))


def _deliver_here(line_id: int) -> None:
    with _in_process:
        try:
            deliver.apply(args=(line_id,))
        finally:
            connection.close()  # this thread's own connection


def sweep() -> int:
    """Schedule every line whose head is due and held by nobody; return how many."""
    lines = delivery.due_lines()
    for line_id in lines:
        schedule_line(line_id)
    return len(lines)


def start_sweeper() -> None:
    """Sweep every WEBHOOK_SWEEP_SECONDS in this process, for deliveries whose task was lost
    (a process that died between a commit and sending the task)."""
    interval = settings.WEBHOOK_SWEEP_SECONDS
    if not interval:
        return

    def loop() -> None:
        try:
            sweep()
        except Exception:
            logger.exception("the webhook sweep failed; it runs again in %s s", interval)
        finally:
            connection.close()
        _start(interval, loop)

    _start(interval, loop)


def _start(seconds: float, function) -> None:
    timer = threading.Timer(seconds, function)
    timer.daemon = True
    timer.start()
