"""The project's Celery app, for a test: its first batch stalls so the test can kill it."""

import os
import time
from pathlib import Path

from celery.signals import task_prerun

from chatbot.celery import app

__all__ = ["app"]


@task_prerun.connect
def stall_the_first_batch_this_worker_gathers(**kwargs) -> None:
    """Before the first task makes the batcher, have its batches stall the first time."""
    from chatbot.nlu import tasks

    original = tasks.classify_send_record
    if getattr(original, "stalls", False):
        return

    def stall_the_first_batch(requests: list[dict]) -> None:
        marker = Path(os.environ["STALL_MARKER"])
        if not marker.exists():
            marker.write_text(f"{os.getpid()} {len(requests)}")
            time.sleep(120)
        original(requests)

    stall_the_first_batch.stalls = True
    tasks.classify_send_record = stall_the_first_batch
