#!/usr/bin/env python3
"""What the webhooks outbox adds to a turn's writes.

A turn stores the visitor's message, then the bot's replies with the turn
(`chatbot.actions.record_visitor_message`, `complete_turn`). With a subscription to
message.created, each also writes its events, deliveries and the line's sequence in the same
transaction. This times those writes per turn with no subscription and with one, on a fresh
SQLite file (the embedded default) or on DATABASE_URL's PostgreSQL, and prints JSON. Delivery
itself runs after the commit, off the turn's path, and is not started here.

    .venv/bin/python bench/webhook_outbox_cost.py [--turns 300] [--replies 2]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=300)
    parser.add_argument("--replies", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    arguments = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="webhook-outbox-bench-"))
    os.environ.update({"DJANGO_SETTINGS_MODULE": "chatbot.settings", "VAR_DIR": str(work)})
    os.environ.pop("REDIS_URL", None)
    sys.path.insert(0, str(REPO_ROOT))
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from chatbot.webhooks import tasks

    call_command("migrate", verbosity=0)
    tasks.schedule_line = lambda *args, **kwargs: None  # what is measured is the writes
    without, with_one = [], []
    for _ in range(arguments.rounds):
        without.append(_per_turn_ms(arguments.turns, arguments.replies, subscribed=False))
        with_one.append(_per_turn_ms(arguments.turns, arguments.replies, subscribed=True))
    base, added = statistics.median(without), statistics.median(with_one)
    print(
        json.dumps(
            {
                "database": connection.vendor,
                "turns": arguments.turns,
                "replies_per_turn": arguments.replies,
                "turn_writes_ms_without_subscription": round(base, 3),
                "turn_writes_ms_with_one_message_subscription": round(added, 3),
                "added_ms_per_turn": round(added - base, 3),
                "added_percent": round(100 * (added - base) / base, 1),
            },
            indent=2,
        )
    )


def _per_turn_ms(turns: int, replies: int, subscribed: bool) -> float:
    from chatbot import actions
    from chatbot.webhooks.models import Subscription

    Subscription.objects.all().delete()
    if subscribed:
        Subscription.objects.create(
            name="bench", url="https://hooks.example.com/in", events=["message.created"]
        )
    conversation = actions.open_conversation(actions.create_visitor().pk)
    answers = [(f"reply {n}", {}) for n in range(replies)]
    started = time.perf_counter()
    for turn in range(turns):
        message, _ = actions.record_visitor_message(conversation.pk, f"m-{turn}", "hello")
        actions.complete_turn(conversation.pk, message.pk, answers, {"turn": turn})
    return (time.perf_counter() - started) * 1000 / turns


if __name__ == "__main__":
    main()
