#!/usr/bin/env python3
"""Throughput of one NLU worker, batching against batch-1 (`chatbot.nlu.batching`).

Stores N visitor messages (BANKING77 test questions), then publishes one classification task
per message as fast as it can, the way many web processes' turns would, and collects every
result from the channel layer. Each configuration starts a fresh worker on a queue of its own:

- batch-1: a thread pool whose batcher takes one request at a time (NLU_WORKER_MAX_BATCH=1);
- batching: the same pool, gathering the tasks that run at once (the settings' window/maximum);
- prefork: the previous deployment, CONCURRENCY processes each classifying its own tasks.

Reports messages per second and the worker's CPU milliseconds per message (its processes'
own time, /proc), so the figures hold on a busy machine. Needs REDIS_URL and a PostgreSQL
DATABASE_URL (run as `bench/run_ws_roundtrip.sh` sets them up), and VAR_DIR with a promoted
model. One JSON object on stdout, progress on stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatbot.settings")


def log(*parts: object) -> None:
    print(*parts, file=sys.stderr, flush=True)


def tree_cpu_seconds(root: int) -> float:
    """User+system CPU seconds of a process and its living descendants."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            children.setdefault(int(fields[1]), []).append(int(entry))
    ticks, total, stack = os.sysconf("SC_CLK_TCK"), 0.0, [root]
    while stack:
        pid = stack.pop()
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / ticks
        stack.extend(children.get(pid, []))
    return total


def start_worker(queue: str, pool: str, concurrency: int, environment: dict) -> subprocess.Popen:
    log_path = Path(tempfile.mkdtemp(prefix="nlu-bench-")) / "worker.log"
    command = [sys.executable, "-m", "celery", "-A", "chatbot", "worker", "-Q", queue]
    command += ["--pool", pool, "--concurrency", str(concurrency), "--loglevel", "WARNING"]
    command += ["--hostname", f"nlu-bench-{uuid.uuid4().hex[:8]}@%h"]
    with log_path.open("w") as output:
        worker = subprocess.Popen(
            command,
            cwd=REPO_ROOT,
            env={**os.environ, **environment},
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    worker.log_path = log_path
    return worker


async def run_configuration(
    name: str, pool: str, concurrency: int, environment: dict, messages: list[tuple[int, str]]
) -> dict:
    from asgiref.sync import sync_to_async
    from channels.layers import get_channel_layer

    from chatbot.nlu.tasks import classify_messages

    queue = f"nlu-bench-{uuid.uuid4().hex[:8]}"
    worker = start_worker(queue, pool, concurrency, environment)
    channel_layer = get_channel_layer()
    reply_channel = await channel_layer.new_channel()
    try:
        # Warm up: the model loads and the pool starts before the clock does.
        warm = {"event_id": messages[0][0], "text": "hello", "reply_channel": reply_channel}
        for _ in range(concurrency):
            await sync_to_async(classify_messages.apply_async)(
                args=[[{**warm, "request_id": "warm"}]], queue=queue
            )
        for _ in range(concurrency):
            await asyncio.wait_for(channel_layer.receive(reply_channel), 120)
        cpu_before = tree_cpu_seconds(worker.pid)
        started = time.perf_counter()

        def publish_all() -> None:
            for event_id, text in messages:
                request = {
                    "event_id": event_id,
                    "text": text,
                    "reply_channel": reply_channel,
                    "request_id": str(event_id),
                }
                classify_messages.apply_async(args=[[request]], queue=queue)

        publishing = asyncio.get_running_loop().run_in_executor(None, publish_all)
        seen = set()
        while len(seen) < len(messages):
            message = await asyncio.wait_for(channel_layer.receive(reply_channel), 120)
            assert message["result"]["status"] == "ok", message
            seen.add(message["request_id"])
        elapsed = time.perf_counter() - started
        await publishing
        cpu = tree_cpu_seconds(worker.pid) - cpu_before
    finally:
        worker.terminate()
        worker.wait(30)
    result = {
        "configuration": name,
        "pool": pool,
        "concurrency": concurrency,
        "settings": environment,
        "messages": len(messages),
        "seconds": round(elapsed, 2),
        "messages_per_second": round(len(messages) / elapsed, 1),
        "worker_cpu_ms_per_message": round(1000 * cpu / len(messages), 2),
    }
    log(json.dumps(result))
    return result


def store_messages(texts: list[str]) -> list[tuple[int, str]]:
    """Store the texts as visitor messages, 50 per conversation; return (event id, text)."""
    from chatbot import actions

    stored = []
    for start in range(0, len(texts), 50):
        conversation = actions.open_conversation(actions.create_visitor().pk)
        for offset, text in enumerate(texts[start : start + 50]):
            event, _ = actions.record_visitor_message(conversation.pk, f"b-{offset}", text)
            stored.append((event.pk, text))
    return stored


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=16, help="thread pool size")
    parser.add_argument("--prefork", type=int, default=2, help="processes of the prefork run")
    parser.add_argument("--window-ms", type=float, default=2.0)
    parser.add_argument("--max-batch", type=int, default=64)
    parser.add_argument("--out", type=Path)
    arguments = parser.parse_args()

    import django

    django.setup()
    from django.conf import settings

    if not settings.REDIS_URL or settings.DATABASES["default"]["ENGINE"].endswith("sqlite3"):
        sys.exit("needs REDIS_URL and a PostgreSQL DATABASE_URL")
    test_file = REPO_ROOT / "chatbot" / "nlu" / "data" / "banking77" / "test.csv"
    with test_file.open() as rows:
        texts = [row["text"] for row in csv.DictReader(rows)]
    texts = (texts * (arguments.messages // len(texts) + 1))[: arguments.messages]
    messages = store_messages(texts)
    log(f"stored {len(messages)} messages")
    batch_1 = {"NLU_WORKER_MAX_BATCH": "1", "NLU_WORKER_BATCH_WINDOW_MS": "0"}
    batching = {
        "NLU_WORKER_MAX_BATCH": str(arguments.max_batch),
        "NLU_WORKER_BATCH_WINDOW_MS": str(arguments.window_ms),
    }
    runs = [
        ("batch-1", "threads", arguments.concurrency, batch_1),
        ("batching", "threads", arguments.concurrency, batching),
        ("prefork", "prefork", arguments.prefork, batch_1),
    ]
    results = [asyncio.run(run_configuration(*run, messages)) for run in runs]
    by_name = {result["configuration"]: result for result in results}
    report = {
        "benchmark": "nlu_worker",
        "machine_cores": os.cpu_count(),
        "runs": results,
        "batching_over_batch_1": round(
            by_name["batching"]["messages_per_second"] / by_name["batch-1"]["messages_per_second"],
            2,
        ),
    }
    text = json.dumps(report, indent=2)
    print(text)
    if arguments.out:
        arguments.out.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
