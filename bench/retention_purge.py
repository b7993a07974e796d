#!/usr/bin/env python3
"""How fast the retention purge deletes: rows per second, for transcripts and turn logs.

Makes conversations with messages, turns and classifier verdicts, ages them past the periods,
and times `chatbot.privacy.actions.purge_expired` on a fresh SQLite file (the embedded default)
or on DATABASE_URL's PostgreSQL. Prints JSON.

    .venv/bin/python bench/retention_purge.py [--conversations 500] [--turns 10]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=500)
    parser.add_argument("--turns", type=int, default=10)
    arguments = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="retention-purge-bench-"))
    os.environ.update({"DJANGO_SETTINGS_MODULE": "chatbot.settings", "VAR_DIR": str(work)})
    os.environ.pop("REDIS_URL", None)
    sys.path.insert(0, str(REPO_ROOT))
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    results = {"database": connection.vendor}
    for kind, days in (("turn_logs", 100), ("transcripts", 1000)):
        _make(arguments.conversations, arguments.turns, days_old=days)
        _only(settings, kind)
        results[kind] = _timed_purge(kind)
    print(json.dumps(results, indent=2))


def _only(settings, kind: str) -> None:
    """Purge only this kind: the others are kept forever for the run."""
    settings.RETENTION_TRANSCRIPT_DAYS = 365 if kind == "transcripts" else None
    settings.RETENTION_TURN_LOG_DAYS = 30 if kind == "turn_logs" else None
    settings.RETENTION_TICKET_DAYS = settings.RETENTION_RATING_DAYS = None
    settings.RETENTION_WEBHOOK_DAYS = None


def _make(conversations: int, turns: int, days_old: int) -> None:
    """Store conversations of `turns` questions and answers, all `days_old` days old."""
    import datetime

    from django.utils import timezone

    from chatbot import actions
    from chatbot.models import Conversation, Event, Turn, Visitor
    from chatbot.nlu.models import MessageClassification

    made = []
    for _ in range(conversations):
        conversation = actions.open_conversation(actions.create_visitor().pk)
        made.append(conversation.pk)
        for turn in range(turns):
            message, _ = actions.record_visitor_message(conversation.pk, f"m-{turn}", "my card")
            MessageClassification.objects.create(
                event=message,
                intent="card",
                confidence=0.9,
                is_low_confidence=False,
                model_version="bench",
            )
            actions.complete_turn(
                conversation.pk,
                message.pk,
                [("blocked", {})],
                {"turn": turn},
                {"understanding": {"intent": "card"}, "trace": {"decision": "answer"}},
            )
    then = timezone.now() - datetime.timedelta(days=days_old)
    Visitor.objects.filter(conversations__pk__in=made).update(created_at=then)
    Conversation.objects.filter(pk__in=made).update(created_at=then)
    for model in (Event, Turn):
        model.objects.filter(conversation_id__in=made).update(created_at=then)
    MessageClassification.objects.filter(event__conversation_id__in=made).update(created_at=then)


def _timed_purge(kind: str) -> dict:
    from chatbot.privacy import actions

    started = time.perf_counter()
    counts = actions.purge_expired()[kind]
    seconds = time.perf_counter() - started
    rows = sum(counts.values())
    return {"rows": rows, "seconds": round(seconds, 3), "rows_per_second": round(rows / seconds)}


if __name__ == "__main__":
    main()
