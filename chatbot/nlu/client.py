"""The consumer's side of classification: send to the workers, await the answer, never block."""

import asyncio
import functools
import logging
import uuid
import weakref
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from channels.db import database_sync_to_async
from django.conf import settings

logger = logging.getLogger(__name__)

MAX_BATCH = 16

# One thread per process publishes every batch (a batcher sends one at a time anyway), so its
# broker connection stays open and no executor is set up per request.
_publisher = ThreadPoolExecutor(max_workers=1, thread_name_prefix="nlu-publish")


@dataclass(frozen=True)
class _Request:
    event_id: int
    text: str
    reply_channel: str
    request_id: str
    # The question the conversation is about, to read the text in its context too.
    context: str | None = None


class _Batcher:
    """Send requests as they come; those arriving while a send is under way go in the next batch.

    An idle server adds no delay; a busy one sends fewer, larger tasks.
    """

    def __init__(self) -> None:
        self.queue: list[_Request] = []
        self.sender: asyncio.Task | None = None

    def submit(self, request: _Request) -> None:
        self.queue.append(request)
        if self.sender is None or self.sender.done():
            self.sender = asyncio.create_task(self._drain())

    async def _drain(self) -> None:
        from chatbot.nlu.tasks import classify_messages

        while self.queue:
            batch, self.queue = self.queue[:MAX_BATCH], self.queue[MAX_BATCH:]
            payload = [request.__dict__ for request in batch]
            try:
                # Publishing to the broker is blocking I/O: it runs on the publishing thread.
                await asyncio.get_running_loop().run_in_executor(
                    _publisher,
                    functools.partial(
                        classify_messages.apply_async, args=[payload], queue=settings.NLU_QUEUE
                    ),
                )
            except Exception:
                # The waiting turns time out and answer with the fallback.
                logger.exception("Could not send %d classification request(s)", len(batch))


_batchers: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Batcher]" = (
    weakref.WeakKeyDictionary()
)


class PendingClassifications:
    """One consumer's classifications in flight, resolved by the results on its channel."""

    def __init__(self, reply_channel: str) -> None:
        self.reply_channel = reply_channel
        self.futures: dict[str, asyncio.Future] = {}

    async def classify(self, event_id: int, text: str, context: str | None = None) -> dict:
        """Return the classification of a stored message, or {"status": "timeout"}."""
        if settings.CELERY_TASK_ALWAYS_EAGER:
            # Embedded: no broker, no workers; the same functions run in a thread here.
            return await _understand_here(event_id, text, context)
        loop = asyncio.get_running_loop()
        request_id = uuid.uuid4().hex
        future = self.futures[request_id] = loop.create_future()
        batcher = _batchers.setdefault(loop, _Batcher())
        batcher.submit(_Request(event_id, text, self.reply_channel, request_id, context))
        try:
            return await asyncio.wait_for(future, settings.NLU_TIMEOUT_SECONDS)
        except TimeoutError:
            return {"status": "timeout"}
        finally:
            self.futures.pop(request_id, None)

    def resolve(self, request_id: str, result: dict) -> None:
        """Hand a worker's result to whoever awaits it; a late one is dropped."""
        future = self.futures.get(request_id)
        if future is not None and not future.done():
            future.set_result(result)


async def _understand_here(event_id: int, text: str, context: str | None) -> dict:
    from chatbot.nlu.understanding import record_verdicts, understand_texts

    def understand_and_record() -> dict:
        (result,) = understand_texts([text], settings.NLU_THREADS, [context])
        record_verdicts([(event_id, result)])
        return result

    try:
        return await asyncio.wait_for(
            database_sync_to_async(understand_and_record)(), settings.NLU_TIMEOUT_SECONDS
        )
    except TimeoutError:
        return {"status": "timeout"}
