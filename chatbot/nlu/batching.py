"""Dynamic batching on a worker: the requests of tasks that run at the same time, in one call.

Plain Python and threads. A Celery worker with a thread pool runs several classification tasks
at once; each hands its requests to the batcher and waits. One batch runs at a time: whichever
waiting task holds the turn gathers what has arrived, for up to a short window or until the
batch is full, and processes it (classify, send, record) for all of them. Requests that arrive
meanwhile form the next batch. A task returns, and so is acknowledged, only once its own
requests have been processed, so a worker killed mid-batch leaves every task of the batch
unacknowledged, to be delivered again.
"""

import threading
import time
from collections.abc import Callable
from concurrent.futures import Future


class DynamicBatcher:
    """Gather requests from many threads and process them together."""

    def __init__(
        self, process: Callable[[list], None], window_seconds: float, max_batch: int
    ) -> None:
        self.process = process
        self.window_seconds = window_seconds
        self.max_batch = max_batch
        self._arrived = threading.Condition()
        # (the task's requests, the future its thread waits on), in arrival order.
        self._waiting: list[tuple[list, Future]] = []
        self._turn = threading.Lock()
        # Batches processed and the requests in them, for the benchmark.
        self.batches = 0
        self.requests = 0

    def run(self, requests: list) -> None:
        """Process `requests`, most likely together with other threads' ones; raise its error."""
        done: Future = Future()
        with self._arrived:
            self._waiting.append((requests, done))
            self._arrived.notify_all()
        while not done.done():
            # Whoever takes the turn processes what has gathered, which may not include its own
            # requests; it then takes the turn again if they are still waiting.
            if self._turn.acquire(timeout=0.05):
                try:
                    if not done.done():
                        self._process_next_batch()
                finally:
                    self._turn.release()
        done.result()

    def _process_next_batch(self) -> None:
        deadline = time.monotonic() + self.window_seconds
        with self._arrived:
            while self._count() < self.max_batch and (left := deadline - time.monotonic()) > 0:
                self._arrived.wait(left)
            batch, size = [], 0
            # Whole tasks only, so that each task's requests succeed or fail together; one task
            # bigger than the batch still goes alone.
            while self._waiting and (
                not batch or size + len(self._waiting[0][0]) <= self.max_batch
            ):
                requests, done = self._waiting.pop(0)
                batch.append((requests, done))
                size += len(requests)
        if not batch:
            return
        self.batches += 1
        self.requests += size
        try:
            self.process([request for requests, _ in batch for request in requests])
        except BaseException as error:  # each task raises it, so Celery retries or rejects it
            for _, done in batch:
                done.set_exception(error)
        else:
            for _, done in batch:
                done.set_result(None)

    def _count(self) -> int:
        return sum(len(requests) for requests, _ in self._waiting)
