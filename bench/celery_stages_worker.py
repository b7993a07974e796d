"""The project's Celery app, timing each stage of `nlu.classify_messages` (for celery_stages.py).

Each task appends one JSON line of wall-clock marks to STAGES_LOG. With STAGES_EMPTY set, the
task skips the model, which leaves Celery's and the channel layer's own cost.
"""

import json
import os
import time

import django
from celery.signals import task_postrun, task_prerun

from chatbot.celery import app

django.setup()

from chatbot.nlu import tasks  # noqa: E402  (needs the apps loaded)

__all__ = ["app"]

_marks: dict[str, float] = {}


def _timed(name: str, function):
    def wrapper(*args):
        _marks[f"{name}_start"] = time.time()
        result = function(*args)
        _marks[f"{name}_end"] = time.time()
        return result

    return wrapper


def _understand(texts: list[str], threads: int) -> list[dict]:
    if os.environ.get("STAGES_EMPTY"):
        return [{"status": "no_model", "entities": []} for _ in texts]
    return _understand_texts(texts, threads)


_understand_texts = tasks.understand_texts
tasks.understand_texts = _timed("understand", _understand)
tasks._send_to_channels = _timed("send", tasks._send_to_channels)
tasks.record_verdicts = _timed("record", tasks.record_verdicts)


@task_prerun.connect
def _started(**kwargs) -> None:
    _marks.clear()
    _marks["prerun"] = time.time()


@task_postrun.connect
def _finished(**kwargs) -> None:
    with open(os.environ["STAGES_LOG"], "a") as log:
        log.write(json.dumps(_marks) + "\n")
