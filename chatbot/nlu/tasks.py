"""Celery envelope for classification: ids in, results to the waiting consumers' channels."""

import asyncio
import contextlib
import logging
import threading

from celery import shared_task
from celery.signals import worker_process_init, worker_ready
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import OperationalError

from chatbot import tracing
from chatbot.nlu.batching import DynamicBatcher
from chatbot.nlu.classifier import promoted_classifier
from chatbot.nlu.training_runs import run_training
from chatbot.nlu.understanding import record_verdicts, understand_texts

logger = logging.getLogger(__name__)


@worker_process_init.connect
def load_model_once_per_worker_process(**kwargs) -> None:
    """Load the promoted model when a worker process starts, not on its first message."""
    promoted_classifier(settings.NLU_THREADS)


@worker_ready.connect
def load_model_in_a_thread_pool_worker(sender=None, **kwargs) -> None:
    """A thread (or solo) pool runs tasks in the main process, which no process_init reaches."""
    pool = getattr(sender, "pool", None)
    if pool is not None and not type(pool).__module__.endswith("prefork"):
        promoted_classifier(settings.NLU_THREADS)


@shared_task(
    name="nlu.classify_messages",
    # The result travels over the channel layer; storing it in the backend too is wasted work.
    ignore_result=True,
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    retry_jitter=True,
    max_retries=3,
)
def classify_messages(requests: list[dict]) -> None:
    """Classify a small batch of visitor messages and tell each waiting consumer.

    Each request is {"event_id", "text", "reply_channel", "request_id", "context"}: the text
    (and the question it may follow up) travels with it, so answering needs no database.
    On a thread pool, the requests of tasks running at the same time are classified together
    (`chatbot.nlu.batching`); the task returns once its own are answered and recorded.
    Idempotent: a redelivered batch sends the same verdicts again (consumers drop a request
    they already have) and keeps the first stored ones.
    """
    _batcher().run(requests)


def classify_send_record(requests: list[dict]) -> None:
    """Classify requests in one model call, send each result to its consumer, keep them."""
    with contextlib.ExitStack() as spans:
        # One span per request, in the trace of the turn that asked, around the shared call.
        for request in requests:
            spans.enter_context(
                tracing.span_in(
                    request.get("trace"), "nlu.classify", **{"nlu.batch_size": len(requests)}
                )
            )
        results = understand_texts(
            [r["text"] for r in requests],
            settings.NLU_THREADS,
            [r.get("context") for r in requests],
        )
    _send_to_channels(
        [
            (
                request["reply_channel"],
                {"type": "nlu.result", "request_id": request["request_id"], "result": result},
            )
            for request, result in zip(requests, results, strict=True)
        ]
    )
    record_verdicts([(r["event_id"], result) for r, result in zip(requests, results, strict=True)])


_batcher_lock = threading.Lock()
_the_batcher: DynamicBatcher | None = None


def _batcher() -> DynamicBatcher:
    """Return this worker process's batcher, made with the settings on first use."""
    global _the_batcher
    with _batcher_lock:
        if _the_batcher is None:
            _the_batcher = DynamicBatcher(
                classify_send_record,
                settings.NLU_WORKER_BATCH_WINDOW_MS / 1000,
                settings.NLU_WORKER_MAX_BATCH,
            )
        return _the_batcher


def _send_to_channels(messages: list[tuple[str, dict]]) -> None:
    # One long-lived loop per worker process keeps its Redis connections open. (Without Redis
    # there are no workers: the web process classifies in place, see chatbot.nlu.client.)
    asyncio.run_coroutine_threadsafe(_send_all(messages), _sender_loop()).result(timeout=10)


async def _send_all(messages: list[tuple[str, dict]]) -> None:
    channel_layer = get_channel_layer()
    await asyncio.gather(*(channel_layer.send(channel, message) for channel, message in messages))


_loop_lock = threading.Lock()
_loop: asyncio.AbstractEventLoop | None = None


def _sender_loop() -> asyncio.AbstractEventLoop:
    """Return this process's background loop for channel sends, started on first use."""
    global _loop
    with _loop_lock:
        if _loop is None:
            _loop = asyncio.new_event_loop()
            threading.Thread(target=_loop.run_forever, daemon=True, name="channel-sends").start()
        return _loop


@shared_task(name="nlu.train", ignore_result=True)
def train_intents(run_id: int) -> None:
    """Run a queued training (minutes). Acknowledged at once: a worker that dies mid-training
    leaves the run `running`, and the next request is refused until an admin marks it failed."""
    run_training(run_id)


def start_training(run_id: int) -> None:
    """Hand a queued run to a worker; on the embedded default, to a thread of this process."""
    if train_intents.app.conf.task_always_eager:
        # In-process, a task would hold the API request for minutes.
        threading.Thread(
            target=train_intents.apply, args=((run_id,),), daemon=True, name="training"
        ).start()
    else:
        train_intents.delay(run_id)
