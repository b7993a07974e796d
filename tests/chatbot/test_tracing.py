"""OpenTelemetry: off by default, one trace per turn, and the worker's spans in that trace."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from chatbot import tracing
from tests.chatbot.socket_client import WidgetClient

REPO_ROOT = Path(__file__).resolve().parents[2]
OTEL_VARIABLES = (
    "OTEL_SDK_DISABLED",
    "OTEL_TRACES_EXPORTER",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    "OTEL_SERVICE_NAME",
    "OTEL_RESOURCE_ATTRIBUTES",
)


@pytest.mark.parametrize(
    ("environment", "exporter"),
    [
        ({}, None),
        ({"OTEL_TRACES_EXPORTER": "console"}, "console"),
        ({"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318"}, None),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, "otlp"),
        ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://collector:4318/v1/traces"}, "otlp"),
        ({"OTEL_SDK_DISABLED": "true", "OTEL_TRACES_EXPORTER": "console"}, None),
    ],
)
def test_only_the_standard_variables_turn_tracing_on(monkeypatch, environment, exporter):
    for name in OTEL_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)

    assert tracing.requested_exporter() == exporter


EXPORTING_PROCESS = """
from opentelemetry import trace
from chatbot import tracing
print("installed" if tracing.configure_tracing("chatbot-web") else "off", flush=True)
with tracing.tracer.start_as_current_span("chat.turn"):
    print("carrier", sorted(tracing.carrier()), flush=True)
provider = trace.get_tracer_provider()
if hasattr(provider, "shutdown"):
    provider.shutdown()
"""


def run_exporting_process(**environment: str) -> str:
    clean = {k: v for k, v in os.environ.items() if k not in OTEL_VARIABLES}
    return subprocess.run(
        [sys.executable, "-c", EXPORTING_PROCESS],
        env={**clean, "PYTHONPATH": str(REPO_ROOT), **environment},
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout


def test_without_the_variables_nothing_is_installed_or_sent():
    output = run_exporting_process()

    assert output.splitlines()[:2] == ["off", "carrier []"]
    assert '"name": "chat.turn"' not in output


def test_the_console_exporter_writes_the_spans_with_the_service_name():
    default = run_exporting_process(OTEL_TRACES_EXPORTER="console")
    named = run_exporting_process(OTEL_TRACES_EXPORTER="console", OTEL_SERVICE_NAME="bank-chat")

    assert default.splitlines()[:2] == ["installed", "carrier ['traceparent']"]
    assert '"name": "chat.turn"' in default
    assert '"service.name": "chatbot-web"' in default
    assert '"service.name": "bank-chat"' in named


def spans_by_id(recorded_spans) -> dict:
    return {span.context.span_id: span for span in recorded_spans.spans}


async def one_turn(text: str) -> None:
    visitor = WidgetClient()
    assert await visitor.connect()
    await visitor.hello()
    await visitor.say(text)
    await visitor.receive_answer()
    await visitor.close()


@pytest.mark.websocket
@pytest.mark.django_db(transaction=True)
async def test_a_turn_is_one_trace_with_its_stages_as_children(recorded_spans, tiny_model):
    await one_turn("what exchange rate do you use")

    (turn,) = recorded_spans.named("chat.turn")
    assert turn.attributes["chat.seq"] == 2
    assert turn.attributes["chat.outcome"] in {"answer", "clarification", "fallback", "handoff"}
    assert turn.attributes["chat.decision"]
    for stage in ("nlu.understand", "chat.engine", "chat.store"):
        (span,) = recorded_spans.named(stage)
        assert span.context.trace_id == turn.context.trace_id, stage
        assert span.parent.span_id == turn.context.span_id, stage


def worker_spans(log_path: Path, name: str) -> list[dict]:
    """The spans named `name` that a worker's console exporter wrote to its log."""
    text, decoder, found, at = log_path.read_text(errors="replace"), json.JSONDecoder(), [], 0
    while (at := text.find('{\n    "name": ', at)) != -1:
        span, end = decoder.raw_decode(text, at)
        if span["name"] == name:
            found.append(span)
        at = end
    return found


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
async def test_the_workers_classification_joins_the_turns_trace(
    requires_services, recorded_spans, tiny_model, celery_worker
):
    await one_turn("where is my card")

    (understand,) = recorded_spans.named("nlu.understand")
    trace_id = f"0x{understand.context.trace_id:032x}"
    deadline = time.monotonic() + 20
    while not (
        joined := [
            span
            for span in worker_spans(celery_worker.log_path, "nlu.classify")
            if span["context"]["trace_id"] == trace_id
        ]
    ):
        assert time.monotonic() < deadline, "the worker wrote no span in the turn's trace"
        time.sleep(0.2)
    (classify,) = joined
    assert classify["parent_id"] == f"0x{understand.context.span_id:016x}"
    assert classify["resource"]["attributes"]["service.name"] == "chatbot-worker"
