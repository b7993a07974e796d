"""Prometheus metrics: the series move with real turns, summed over processes, behind a token."""

import subprocess
import sys
import textwrap
import urllib.request
from pathlib import Path

import pytest
from asgiref.sync import sync_to_async
from django.test import AsyncClient, Client
from prometheus_client import CollectorRegistry, multiprocess
from prometheus_client.parser import text_string_to_metric_families

from chatbot import actions, engine, metrics
from chatbot.models import Conversation
from chatbot.nlu import understanding
from chatbot.nlu.artefacts import promoted_version
from handoff.models import Handoff
from knowledge.loading import stored_version
from tests.chatbot.socket_client import WidgetClient, events_in

REPO_ROOT = Path(__file__).resolve().parents[2]


def samples(text: str) -> dict[tuple[str, tuple], float]:
    """{(sample name, sorted labels): value} of an exposition."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(scraped: dict, name: str, **labels: str) -> float:
    """A sample's value; 0 for a series not (yet) exposed."""
    return scraped.get((name, tuple(sorted(labels.items()))), 0.0)


def total(scraped: dict, name: str, **labels: str) -> float:
    """The sum of a metric's samples whose labels include `labels` (any other labels)."""
    return sum(
        sample_value
        for (sample_name, sample_labels), sample_value in scraped.items()
        if sample_name == name and set(labels.items()) <= set(sample_labels)
    )


def scrape(**headers: str) -> dict:
    response = Client().get("/metrics", headers=headers)
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain; version=")
    return samples(response.content.decode())


def test_a_turn_is_named_by_its_outcome_and_reason():
    assert metrics.turn_outcome("answer", None) == ("answer", "")
    assert metrics.turn_outcome("follow_up", None) == ("answer", "")
    assert metrics.turn_outcome("clarify", None) == ("clarification", "")
    assert metrics.turn_outcome("out_of_scope", None) == ("fallback", "out_of_scope")
    assert metrics.turn_outcome("not_caught", None) == ("fallback", "not_caught")
    # A handoff is what the visitor gets, whatever the bot said before it.
    assert metrics.turn_outcome("unsure", "unclear_repeatedly") == ("handoff", "unclear_repeatedly")


@pytest.mark.websocket
@pytest.mark.django_db(transaction=True)
async def test_a_visitors_turns_move_the_message_stage_and_outcome_series(tiny_model):
    before = samples((await AsyncClient().get("/metrics")).content.decode())
    visitor = WidgetClient()
    assert await visitor.connect()
    await visitor.hello()
    questions = ["what exchange rate do you use", "where is my card", "what exchange rate applies"]
    replies = []
    for question in questions:
        await visitor.say(question)
        replies += [e for e in events_in(await visitor.receive_answer()) if e["author"] == "bot"]
    connected = samples((await AsyncClient().get("/metrics")).content.decode())
    await visitor.close()
    after = samples((await AsyncClient().get("/metrics")).content.decode())

    def moved(name: str, **labels: str) -> float:
        return total(after, name, **labels) - total(before, name, **labels)

    assert moved("chatbot_messages_total", author="visitor") == len(questions)
    assert moved("chatbot_messages_total", author="bot") == len(replies)
    for stage in ("understand", "engine", "store", "total"):
        assert moved("chatbot_turn_stage_seconds_count", stage=stage) == len(questions)
    assert moved("chatbot_turn_stage_seconds_sum", stage="total") > 0
    assert moved("chatbot_turn_outcomes_total") == len(questions)
    assert moved("chatbot_turn_outcomes_total", outcome="answer") >= 1
    widget = {"page": "widget"}
    assert (
        total(connected, "chatbot_websockets_open", **widget)
        == total(before, "chatbot_websockets_open", **widget) + 1
    )
    assert total(after, "chatbot_websockets_open", **widget) == total(
        before, "chatbot_websockets_open", **widget
    )


@pytest.mark.websocket
@pytest.mark.django_db(transaction=True)
async def test_a_failed_engine_counts_as_a_fallback_not_an_answer(monkeypatch):
    def broken_turn(*args):
        raise RuntimeError("model server on fire")

    monkeypatch.setattr(engine, "run_turn", broken_turn)
    outcome = {"outcome": "fallback", "reason": "engine_failure"}
    before = samples((await AsyncClient().get("/metrics")).content.decode())
    visitor = WidgetClient()
    assert await visitor.connect()
    await visitor.hello()

    await visitor.say("hello?")
    await visitor.receive_answer()
    await visitor.close()

    after = samples((await AsyncClient().get("/metrics")).content.decode())
    assert (
        value(after, "chatbot_turn_outcomes_total", **outcome)
        == value(before, "chatbot_turn_outcomes_total", **outcome) + 1
    )


def test_the_model_records_its_latency_and_confidence_per_message(tiny_model, db):
    before = scrape()

    results = understanding.understand_texts(["where is my card", "what exchange rate do you use"])

    after = scrape()
    assert (
        after[("chatbot_nlu_messages_total", ())]
        - before.get(("chatbot_nlu_messages_total", ()), 0)
        == 2
    )
    calls = "chatbot_nlu_seconds_count"
    assert total(after, calls) - total(before, calls) == 1
    confidence_count = "chatbot_nlu_confidence_count"
    assert total(after, confidence_count) - total(before, confidence_count) == 2
    # Each message's confidence lands in the bucket its value belongs to.
    top = results[0]["confidence"]
    bucket = min(b for b in metrics.CONFIDENCE_BUCKETS if b >= top)
    le = {"le": str(bucket)}
    assert total(after, "chatbot_nlu_confidence_bucket", **le) > total(
        before, "chatbot_nlu_confidence_bucket", **le
    )


@pytest.mark.django_db
def test_the_state_gauges_read_the_queue_and_the_versions(tiny_model):
    visitor = actions.create_visitor()
    waiting, assigned = (Conversation.objects.create(visitor=visitor) for _ in range(2))
    Handoff.objects.create(conversation=waiting, reason="requested")
    Handoff.objects.create(conversation=assigned, reason="requested", status="assigned")

    scraped = scrape()

    assert value(scraped, "handoff_queue_length") == 1
    assert value(scraped, "handoff_assigned") == 1
    assert value(scraped, "handoff_queue_oldest_wait_seconds") >= 0
    assert value(scraped, "knowledge_graph_version") == stored_version()
    assert value(scraped, "chatbot_intent_model_info", version=promoted_version()) == 1


@pytest.mark.django_db
def test_only_a_scraper_with_the_token_reads_the_metrics(settings):
    settings.METRICS_TOKEN = "s3cret-scrape-token"

    assert Client().get("/metrics").status_code == 401
    wrong = Client().get("/metrics", headers={"Authorization": "Bearer guess"})
    assert wrong.status_code == 401
    assert wrong["WWW-Authenticate"].startswith("Bearer")
    assert (
        Client()
        .post("/metrics", headers={"Authorization": "Bearer s3cret-scrape-token"})
        .status_code
        == 405
    )
    assert (
        "chatbot_messages"
        in Client()
        .get("/metrics", headers={"Authorization": "Bearer s3cret-scrape-token"})
        .content.decode()
    )


@pytest.mark.django_db
def test_without_a_token_only_this_host_reads_the_metrics(settings):
    settings.METRICS_TOKEN = ""

    assert Client(REMOTE_ADDR="10.1.2.3").get("/metrics").status_code == 403
    assert Client(REMOTE_ADDR="::1").get("/metrics").status_code == 200
    assert Client(REMOTE_ADDR="127.0.0.1").get("/metrics").status_code == 200


RECORDING_PROCESS = """
import sys
from chatbot import metrics
metrics.MESSAGES.labels("visitor").inc(int(sys.argv[1]))
metrics.WEBSOCKETS_OPEN.labels("widget").inc()
metrics.record_turn({"total": 0.02}, "answer", None)
print("recorded", flush=True)
sys.stdin.read()  # stays alive, its socket open, until the test closes stdin
"""


def test_processes_sharing_a_directory_are_summed_and_a_dead_ones_sockets_drop(tmp_path):
    environment = {"PROMETHEUS_MULTIPROC_DIR": str(tmp_path), "PYTHONPATH": str(REPO_ROOT)}
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", textwrap.dedent(RECORDING_PROCESS), str(count)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=environment,
        )
        for count in (2, 3)
    ]
    try:
        for process in processes:
            assert process.stdout.readline().strip() == "recorded"

        def summed() -> dict:
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry, path=str(tmp_path))
            return {
                (sample.name, tuple(sorted(sample.labels.items()))): sample.value
                for family in registry.collect()
                for sample in family.samples
            }

        both_alive = summed()
        processes[0].communicate("", timeout=30)  # it exits, and marks itself dead
        one_alive = summed()
    finally:
        for process in processes:
            if process.poll() is None:
                process.communicate("", timeout=30)

    visitor = ("chatbot_messages_total", (("author", "visitor"),))
    assert both_alive[visitor] == 5
    assert value(both_alive, "chatbot_websockets_open", page="widget") == 2
    assert total(both_alive, "chatbot_turn_stage_seconds_count", stage="total") == 2
    assert one_alive[visitor] == 5, "what a process counted stays counted after it ends"
    assert value(one_alive, "chatbot_websockets_open", page="widget") == 1


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
async def test_the_worker_serves_its_classification_and_task_metrics(
    requires_services, tiny_model, celery_worker
):
    url = celery_worker.metrics_url

    def worker_samples() -> dict:
        with urllib.request.urlopen(url, timeout=10) as response:
            return samples(response.read().decode())

    before = await sync_to_async(worker_samples)()
    visitor = WidgetClient()
    assert await visitor.connect()
    await visitor.hello()
    await visitor.say("where is my card")
    await visitor.receive_answer()
    await visitor.close()
    after = await sync_to_async(worker_samples)()

    task = {"task": "nlu.classify_messages", "state": "SUCCESS"}
    assert total(after, "celery_task_seconds_count", **task) > total(
        before, "celery_task_seconds_count", **task
    )
    assert total(after, "chatbot_nlu_messages_total") > total(before, "chatbot_nlu_messages_total")
