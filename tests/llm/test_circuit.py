import threading

import pytest

from chatbot.llm.base import BackendError
from chatbot.llm.circuit import CLOSED, HALF_OPEN, OPEN, CircuitBreaker


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def failing():
    raise BackendError("http_503")
    yield  # a generator, like a backend's stream


def test_it_opens_after_the_threshold_of_consecutive_failures():
    circuit = CircuitBreaker(failure_threshold=3, reset_seconds=30, clock=Clock())

    for _ in range(2):
        circuit.record_failure()
    assert circuit.state == CLOSED
    circuit.record_failure()

    assert circuit.state == OPEN
    assert not circuit.allow()


def test_a_success_resets_the_count_of_failures():
    circuit = CircuitBreaker(failure_threshold=2, reset_seconds=30, clock=Clock())

    circuit.record_failure()
    circuit.record_success()
    circuit.record_failure()

    assert circuit.state == CLOSED


def test_after_the_reset_time_one_probe_goes_through_and_its_success_closes_it():
    clock = Clock()
    circuit = CircuitBreaker(failure_threshold=1, reset_seconds=30, clock=clock)
    circuit.record_failure()

    clock.now += 30
    assert circuit.state == HALF_OPEN
    assert circuit.allow()
    assert not circuit.allow()  # the probe is still out
    circuit.record_success()

    assert circuit.state == CLOSED
    assert circuit.allow()


def test_a_failed_probe_opens_it_again_for_another_reset_time():
    clock = Clock()
    circuit = CircuitBreaker(failure_threshold=1, reset_seconds=30, clock=clock)
    circuit.record_failure()
    clock.now += 30
    assert circuit.allow()

    circuit.record_failure()
    clock.now += 29

    assert circuit.state == OPEN
    assert not circuit.allow()


def test_guard_fails_fast_when_open_without_starting_the_stream():
    circuit = CircuitBreaker(failure_threshold=1, reset_seconds=30, clock=Clock())
    circuit.record_failure()
    started = []

    def stream():
        started.append(True)
        yield "never"

    with pytest.raises(BackendError) as raised:
        list(circuit.guard(stream()))

    assert raised.value.reason == "circuit_open"
    assert started == []


def test_guard_records_a_failed_stream_and_a_completed_one():
    circuit = CircuitBreaker(failure_threshold=1, reset_seconds=30, clock=Clock())

    assert list(circuit.guard(iter(["a", "b"]))) == ["a", "b"]
    assert circuit.state == CLOSED
    with pytest.raises(BackendError):
        list(circuit.guard(failing()))

    assert circuit.state == OPEN


def test_a_stream_closed_early_by_its_reader_counts_as_a_success():
    clock = Clock()
    circuit = CircuitBreaker(failure_threshold=1, reset_seconds=30, clock=clock)
    circuit.record_failure()
    clock.now += 30

    probe = circuit.guard(iter(["a", "b"]))
    next(probe)
    probe.close()

    assert circuit.state == CLOSED


def test_only_one_of_many_threads_gets_the_probe():
    clock = Clock()
    circuit = CircuitBreaker(failure_threshold=1, reset_seconds=30, clock=clock)
    circuit.record_failure()
    clock.now += 30
    allowed = []
    start = threading.Barrier(16)

    def ask():
        start.wait()
        allowed.append(circuit.allow())

    threads = [threading.Thread(target=ask) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert allowed.count(True) == 1
