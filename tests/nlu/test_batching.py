"""Dynamic batching: tasks running at once share one call, and each gets its own answers."""

import threading
import time

from chatbot.nlu.batching import DynamicBatcher


class Recorder:
    """A process function that answers each request with its own text, upper-cased."""

    def __init__(self, delay: float = 0.0, fail_on: str | None = None) -> None:
        self.calls: list[list[dict]] = []
        self.delay = delay
        self.fail_on = fail_on

    def __call__(self, requests: list[dict]) -> None:
        self.calls.append(list(requests))
        time.sleep(self.delay)
        if self.fail_on and any(r["text"] == self.fail_on for r in requests):
            raise RuntimeError("the model failed")
        for request in requests:
            request["answer"] = request["text"].upper()


def run_in_threads(batcher: DynamicBatcher, tasks: list[list[dict]]) -> dict[int, BaseException]:
    errors: dict[int, BaseException] = {}
    start = threading.Barrier(len(tasks))

    def task(index: int) -> None:
        start.wait()
        try:
            batcher.run(tasks[index])
        except BaseException as error:
            errors[index] = error

    threads = [threading.Thread(target=task, args=(i,)) for i in range(len(tasks))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert not any(thread.is_alive() for thread in threads)
    return errors


def test_tasks_that_run_together_share_one_call_and_keep_their_own_answers():
    process = Recorder(delay=0.05)
    batcher = DynamicBatcher(process, window_seconds=0.2, max_batch=64)
    tasks = [[{"text": f"task {i} message {j}"} for j in range(i % 3 + 1)] for i in range(12)]

    assert run_in_threads(batcher, tasks) == {}

    # All 12 tasks arrived within the window: one call held every request.
    assert len(process.calls) < len(tasks)
    assert sum(len(call) for call in process.calls) == sum(len(task) for task in tasks)
    for task in tasks:
        assert all(request["answer"] == request["text"].upper() for request in task)
    assert (batcher.batches, batcher.requests) == (len(process.calls), 24)


def test_a_batch_never_exceeds_the_maximum_and_keeps_tasks_whole():
    process = Recorder(delay=0.01)
    batcher = DynamicBatcher(process, window_seconds=0.1, max_batch=4)
    tasks = [[{"text": f"{i}-{j}"} for j in range(3)] for i in range(6)]

    assert run_in_threads(batcher, tasks) == {}

    assert all(len(call) <= 4 for call in process.calls)
    # A task's three requests are never split between calls.
    for call in process.calls:
        assert {request["text"].split("-")[0] for request in call} == {call[0]["text"][0]}


def test_a_task_bigger_than_the_maximum_still_goes_alone():
    process = Recorder()
    batcher = DynamicBatcher(process, window_seconds=0.0, max_batch=2)
    task = [{"text": str(i)} for i in range(5)]

    batcher.run(task)

    assert process.calls == [task]


def test_a_failed_batch_fails_each_of_its_tasks_and_no_later_one():
    process = Recorder(fail_on="poison")
    batcher = DynamicBatcher(process, window_seconds=0.2, max_batch=64)

    errors = run_in_threads(batcher, [[{"text": "poison"}], [{"text": "innocent"}]])
    healthy = [{"text": "fine"}]
    batcher.run(healthy)

    # Both tasks were in the failed call: both raise, so Celery retries or rejects both.
    assert len(process.calls[0]) == 2
    assert sorted(errors) == [0, 1]
    assert all(isinstance(error, RuntimeError) for error in errors.values())
    assert healthy[0]["answer"] == "FINE"


def test_without_a_window_an_idle_worker_adds_no_wait():
    process = Recorder()
    batcher = DynamicBatcher(process, window_seconds=0.0, max_batch=64)

    batcher.run([{"text": "alone"}])

    assert process.calls == [[{"text": "alone", "answer": "ALONE"}]]
