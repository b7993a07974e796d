"""Where a classification's Celery round trip spends its time: publish, dispatch, model, reply.

Starts a worker with bench/celery_stages_worker.py, sends stored-message requests one at a time
from the consumer's publishing thread, and prints the p50 of each stage as JSON (ms).

    VAR_DIR=DIR REDIS_URL=redis://127.0.0.1:6379/5 .venv/bin/python bench/celery_stages.py \\
        [--pool prefork|solo|threads] [--messages 200] [--empty] [--threads 2]

VAR_DIR must hold a promoted intent model (`manage.py train_intents --fast`).
"""

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from intent_benchmark import start_worker  # a script beside this one

REPO_ROOT = Path(__file__).resolve().parents[1]
BANKING77_TEST = REPO_ROOT / "chatbot" / "nlu" / "data" / "banking77" / "test.csv"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pool", default="prefork", choices=["prefork", "solo", "threads"])
    parser.add_argument("--messages", type=int, default=200)
    parser.add_argument("--empty", action="store_true", help="skip the model: Celery's own cost")
    parser.add_argument("--threads", type=int, default=2, help="the worker's NLU_THREADS")
    arguments = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="celery-stages-"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatbot.settings")
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{work / 'stages.sqlite3'}")
    sys.path.insert(0, str(REPO_ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    log = work / "stages.jsonl"
    worker = start_stage_timing_worker(arguments, log)
    try:
        texts = [line.split(",")[0] for line in BANKING77_TEST.read_text().splitlines()[1:]]
        sent = asyncio.run(send_one_at_a_time(texts[: arguments.messages + 10]))
    finally:
        worker.terminate()
        worker.wait(timeout=30)
    marks = [json.loads(line) for line in log.read_text().splitlines()]
    print(json.dumps(stage_medians(sent[10:], marks[10:], arguments), indent=2))


def start_stage_timing_worker(arguments: argparse.Namespace, log: Path) -> subprocess.Popen:
    environment = {
        "STAGES_LOG": str(log),
        "PYTHONPATH": str(REPO_ROOT),
        "NLU_THREADS": str(arguments.threads),
    }
    if arguments.empty:
        environment["STAGES_EMPTY"] = "1"
    return start_worker(log.parent, "bench.celery_stages_worker", arguments.pool, environment)


async def send_one_at_a_time(texts: list[str]) -> list[tuple[float, float, float]]:
    """Return (before publishing, published, result received) wall-clock times per message."""
    from asgiref.sync import sync_to_async
    from channels.layers import get_channel_layer

    from chatbot import actions
    from chatbot.nlu.client import _publisher
    from chatbot.nlu.tasks import classify_messages

    layer = get_channel_layer()
    channel = await layer.new_channel()
    loop = asyncio.get_running_loop()
    conversation = await sync_to_async(actions.open_conversation)(
        (await sync_to_async(actions.create_visitor)()).pk
    )
    times = []
    for index, text in enumerate(texts):
        event, _ = await sync_to_async(actions.record_visitor_message)(
            conversation.pk, f"stages-{index}", text
        )
        request = {
            "event_id": event.pk,
            "text": text,
            "reply_channel": channel,
            "request_id": str(index),
        }
        started = time.time()
        await loop.run_in_executor(
            _publisher, lambda r=request: classify_messages.apply_async(args=[[r]], queue="nlu")
        )
        published = time.time()
        await asyncio.wait_for(layer.receive(channel), 30)
        times.append((started, published, time.time()))
        await asyncio.sleep(0.01)
    return times


def stage_medians(sent: list, marks: list[dict], arguments: argparse.Namespace) -> dict:
    def p50(values) -> float:
        return round(statistics.median(values) * 1000, 3)

    pairs = list(zip(sent, marks, strict=True))
    return {
        "pool": arguments.pool,
        "threads": arguments.threads,
        "empty_task": arguments.empty,
        "messages": len(pairs),
        "end_to_end_ms": p50([s[2] - s[0] for s, _ in pairs]),
        "publishing_call_ms": p50([s[1] - s[0] for s, _ in pairs]),
        "publish_to_task_start_ms": p50([m["prerun"] - s[0] for s, m in pairs]),
        "understanding_ms": p50([m["understand_end"] - m["understand_start"] for _, m in pairs]),
        "sending_result_ms": p50([m["send_end"] - m["send_start"] for _, m in pairs]),
        "send_end_to_received_ms": p50([s[2] - m["send_end"] for s, m in pairs]),
        "recording_verdict_ms": p50([m["record_end"] - m["record_start"] for _, m in pairs]),
    }


if __name__ == "__main__":
    main()
