"""The consumer's side of classification: send to the workers, await the answer, never block.

Requests wait together: those that arrive while a batch is being sent (to the workers) or
classified (in this process, embedded) go in the next one, so an idle server adds no delay and a
busy one does fewer, larger calls. A classification that does not come back in time is sent
again, never answered with a guess: only when every attempt fails does the turn say that the
service is busy.
"""

import asyncio
import contextlib
import functools
import logging
import time
import uuid
import weakref
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from django.conf import settings

from chatbot import tracing
from chatbot.database_threads import database_call
from chatbot.redis_connection import get_redis

logger = logging.getLogger(__name__)

# One thread per process publishes every batch (a batcher sends one at a time anyway), so its
# broker connection stays open and no executor is set up per request.
_publisher = ThreadPoolExecutor(max_workers=1, thread_name_prefix="nlu-publish")
# Embedded, the model runs on a thread of its own: not the database thread, which every query
# of every socket waits for, and the model's native code runs beside the Python of the others.
_classifier_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="nlu-classify")


@dataclass(frozen=True)
class _Request:
    event_id: int
    text: str
    reply_channel: str
    request_id: str
    # The question the conversation is about, to read the text in its context too.
    context: str | None = None
    # The asking turn's trace context (W3C headers; empty when tracing is off).
    trace: dict | None = None


class _Batcher:
    """Take requests as they come; hand those that queued meanwhile on together."""

    def __init__(self, handle) -> None:
        self.handle = handle
        self.queue: list[_Request] = []
        self.runner: asyncio.Task | None = None

    def submit(self, request: _Request) -> None:
        self.queue.append(request)
        if self.runner is None or self.runner.done():
            self.runner = asyncio.create_task(self._drain())

    async def _drain(self) -> None:
        while self.queue:
            size = settings.NLU_MAX_BATCH
            batch, self.queue = self.queue[:size], self.queue[size:]
            try:
                await self.handle(batch)
            except Exception:
                # The waiting turns try again, and at last say that the service is busy.
                logger.exception("Could not classify %d request(s)", len(batch))


async def _send_to_workers(batch: list[_Request]) -> None:
    from chatbot.nlu.tasks import classify_messages

    payload = [request.__dict__ for request in batch]
    # Publishing to the broker is blocking I/O: it runs on the publishing thread.
    await asyncio.get_running_loop().run_in_executor(
        _publisher,
        functools.partial(classify_messages.apply_async, args=[payload], queue=settings.NLU_QUEUE),
    )


async def _classify_here(batch: list[_Request]) -> None:
    from chatbot.nlu.understanding import record_verdicts, understand_texts
    from knowledge.service import built_graph, current_graph

    # The turn that asked has just read the current graph on the database thread.
    graph = built_graph()
    if graph is None:
        graph = await database_call(current_graph)()
    results = await asyncio.get_running_loop().run_in_executor(
        _classifier_thread,
        functools.partial(
            understand_texts,
            [request.text for request in batch],
            settings.NLU_THREADS,
            [request.context for request in batch],
            graph,
        ),
    )
    for request, result in zip(batch, results, strict=True):
        _resolve(request.reply_channel, request.request_id, result)
    await database_call(record_verdicts)(
        [(request.event_id, result) for request, result in zip(batch, results, strict=True)]
    )


# Per event loop: a batcher's task and the futures it resolves belong to one loop.
_batchers: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Batcher]" = (
    weakref.WeakKeyDictionary()
)
# Embedded results go straight to the waiting consumer's object, not over the channel layer.
_waiting: "weakref.WeakValueDictionary[str, PendingClassifications]" = weakref.WeakValueDictionary()


def _batcher() -> _Batcher:
    loop = asyncio.get_running_loop()
    batcher = _batchers.get(loop)
    if batcher is None:
        embedded = settings.CELERY_TASK_ALWAYS_EAGER
        batcher = _batchers[loop] = _Batcher(_classify_here if embedded else _send_to_workers)
    return batcher


class _QueueGauge:
    """The classification tasks waiting for a worker, read from the broker now and then.

    Read while messages come in, every NLU_QUEUE_SAMPLE_SECONDS, so that asking costs nothing;
    idle for a second, it stops reading (and says 0).
    """

    def __init__(self) -> None:
        self.depth = 0
        self.asked_at = 0.0
        self.sampler: asyncio.Task | None = None

    def read(self) -> int:
        self.asked_at = time.monotonic()
        if self.sampler is None or self.sampler.done():
            self.sampler = asyncio.get_running_loop().create_task(self._sample())
        return self.depth

    async def _sample(self) -> None:
        while time.monotonic() - self.asked_at < 1.0:
            with contextlib.suppress(Exception):  # unreadable: the last figure stands
                self.depth = await get_redis().llen(settings.NLU_QUEUE)
            await asyncio.sleep(settings.NLU_QUEUE_SAMPLE_SECONDS)
        self.depth = 0


_gauges: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _QueueGauge]" = (
    weakref.WeakKeyDictionary()
)


def classification_backlog() -> int:
    """Return how many classifications wait: tasks in the workers' queue, or here (embedded)."""
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return len(_batcher().queue)
    loop = asyncio.get_running_loop()
    gauge = _gauges.get(loop)
    if gauge is None:
        gauge = _gauges[loop] = _QueueGauge()
    return gauge.read()


def _resolve(reply_channel: str, request_id: str, result: dict) -> None:
    pending = _waiting.get(reply_channel)
    if pending is not None:
        pending.resolve(request_id, result)


class PendingClassifications:
    """One consumer's classifications in flight, resolved by the results on its channel."""

    def __init__(self, reply_channel: str) -> None:
        self.reply_channel = reply_channel
        self.futures: dict[str, asyncio.Future] = {}
        _waiting[reply_channel] = self

    async def classify(self, event_id: int, text: str, context: str | None = None) -> dict:
        """Return the classification of a stored message, or {"status": "timeout"}.

        Each attempt waits NLU_TIMEOUT_SECONDS; when the workers' queue is empty by then, the
        next sends the same request again (a worker may have died with it, or the publish
        failed), and whichever answer comes first is taken. Only after NLU_ATTEMPTS does the
        turn go without. Embedded, the request is in this process's own queue: it is sent once
        and waits all the attempts.
        """
        loop = asyncio.get_running_loop()
        request = _Request(
            event_id, text, self.reply_channel, uuid.uuid4().hex, context, tracing.carrier()
        )
        future = self.futures[request.request_id] = loop.create_future()
        embedded = settings.CELERY_TASK_ALWAYS_EAGER
        attempts, wait = settings.NLU_ATTEMPTS, settings.NLU_TIMEOUT_SECONDS
        if embedded:
            attempts, wait = 1, wait * attempts
        try:
            _batcher().submit(request)
            for attempt in range(1, attempts + 1):
                try:
                    return await asyncio.wait_for(asyncio.shield(future), wait)
                except TimeoutError:
                    logger.warning(
                        "No classification of message %s after attempt %d of %d",
                        event_id,
                        attempt,
                        attempts,
                    )
                # Tasks still queued: the request is most likely among them, and a copy would
                # only lengthen the queue. An empty queue means it was lost (or its worker died).
                if attempt < attempts and not classification_backlog():
                    _batcher().submit(request)
            return {"status": "timeout"}
        finally:
            self.futures.pop(request.request_id, None)

    def resolve(self, request_id: str, result: dict) -> None:
        """Hand a worker's result to whoever awaits it; a late one is dropped."""
        future = self.futures.get(request_id)
        if future is not None and not future.done():
            future.set_result(result)
