"""The project's Celery app, for a test: the first task it runs stalls so the test can kill it."""

import os
import time
from pathlib import Path

from celery.signals import task_prerun

from chatbot.celery import app

__all__ = ["app"]


@task_prerun.connect
def stall_the_first_task(**kwargs) -> None:
    """Record this pool process's id and hang, the first time only."""
    marker = Path(os.environ["STALL_MARKER"])
    if not marker.exists():
        marker.write_text(str(os.getpid()))
        time.sleep(120)
