"""A circuit breaker: after repeated failures, fail fast for a while instead of waiting.

Plain Python, thread-safe. Closed, every call goes through. After `failure_threshold`
consecutive failures it opens: calls fail at once with BackendError("circuit_open"). Once
`reset_seconds` have passed it is half-open: one probe goes through; its success closes the
circuit, its failure opens it again for another `reset_seconds`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator

from chatbot.llm.base import BackendError

CLOSED = "closed"
OPEN = "open"
HALF_OPEN = "half_open"


class CircuitBreaker:
    """Count consecutive failures of one backend and decide whether a call may go through."""

    def __init__(
        self,
        failure_threshold: int,
        reset_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.failure_threshold = failure_threshold
        self.reset_seconds = reset_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._state = CLOSED
        self._failures = 0
        self._opened_at = 0.0

    @property
    def state(self) -> str:
        """Return "closed", "open" or "half_open", as a call made now would find it."""
        with self._lock:
            if self._state == OPEN and self._is_reset_due():
                return HALF_OPEN
            return self._state

    def allow(self) -> bool:
        """Return whether a call may go through now; in half-open, only the one probe may."""
        with self._lock:
            if self._state == CLOSED:
                return True
            if self._state == OPEN and self._is_reset_due():
                self._state = HALF_OPEN
                return True
            return False

    def record_success(self) -> None:
        """Close the circuit."""
        with self._lock:
            self._state = CLOSED
            self._failures = 0

    def record_failure(self) -> None:
        """Count a failure; open the circuit at the threshold, or again after a failed probe."""
        with self._lock:
            self._failures += 1
            if self._state == HALF_OPEN or self._failures >= self.failure_threshold:
                self._state = OPEN
                self._opened_at = self._clock()

    def guard(self, pieces: Iterable[str]) -> Iterator[str]:
        """Yield from a backend's stream if the circuit allows it, and record how it ended."""
        if not self.allow():
            raise BackendError("circuit_open", "too many consecutive failures")
        try:
            yield from pieces
        except GeneratorExit:
            # The caller stopped reading: the backend was answering, so it is up.
            self.record_success()
            raise
        except BaseException:
            self.record_failure()
            raise
        self.record_success()

    def _is_reset_due(self) -> bool:
        return self._clock() - self._opened_at >= self.reset_seconds
