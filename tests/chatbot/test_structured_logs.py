"""LOG_FORMAT=json: one JSON object per line, with the conversation and the request it was for."""

import asyncio
import json
import logging
import sys
import tempfile
import urllib.request
from pathlib import Path

import pytest
from websockets.asyncio.client import connect

from chatbot import log_context
from chatbot.json_logs import JsonFormatter
from tests.conftest import start_celery_worker
from tests.live_server import free_port, migrate, running_server, server_environment, stop


def formatted(record: logging.LogRecord) -> dict:
    log_context.ContextFilter().filter(record)
    return json.loads(JsonFormatter().format(record))


def test_a_line_carries_the_conversation_and_request_of_its_context():
    conversation = log_context.conversation_id.set("c-1")
    request = log_context.request_id.set("r-1")
    try:
        record = logging.LogRecord(
            "chatbot.turns", logging.WARNING, __file__, 1, "slow %s", ("x",), None
        )
        line = formatted(record)
    finally:
        log_context.conversation_id.reset(conversation)
        log_context.request_id.reset(request)

    assert line["message"] == "slow x"
    assert (line["level"], line["logger"]) == ("WARNING", "chatbot.turns")
    assert (line["conversation_id"], line["request_id"]) == ("c-1", "r-1")
    assert line["time"].endswith("+00:00")


def test_a_line_outside_any_conversation_says_so_and_keeps_its_traceback():
    try:
        raise ValueError("broken <script>")
    except ValueError:
        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", (), sys.exc_info())

    line = formatted(record)

    assert (line["conversation_id"], line["request_id"]) == (None, None)
    assert "ValueError: broken <script>" in line["exception"]


def test_a_plain_request_id_is_kept_and_anything_else_replaced():
    assert log_context.accepted_request_id("lb-7f3a.91") == "lb-7f3a.91"
    for sent in (None, "", "two words", "x" * 65, 'a"}\n{"forged": 1'):
        replaced = log_context.accepted_request_id(sent)
        assert replaced != sent and len(replaced) == 16


def test_a_served_turn_logs_json_lines_with_its_conversation_and_request():
    port = free_port()
    origin = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory(prefix="chatbot-json-logs-") as temporary:
        directory = Path(temporary)
        environment = server_environment(f"sqlite:///{directory / 'db.sqlite3'}", origin, directory)
        environment["LOG_FORMAT"] = "json"
        migrate(environment)
        log_path = directory / "server.log"
        with running_server(environment, port, log_path) as base_url:
            request = urllib.request.Request(
                base_url + "/healthz", headers={"X-Request-ID": "probe-1"}
            )
            with urllib.request.urlopen(request, timeout=10) as response:
                assert response.headers["X-Request-ID"] == "probe-1"
            conversation_id = asyncio.run(
                _one_answered_message(base_url.replace("http", "ws") + "/ws/chat/", origin)
            )
        server_log = log_path.read_text(errors="replace")

    lines = [json.loads(line) for line in server_log.splitlines() if line.startswith("{")]
    assert lines, server_log
    # The first turn builds the knowledge graph, and says so, on the socket's behalf.
    built = [line for line in lines if line["message"].startswith("Built knowledge graph")]
    assert built and built[0]["conversation_id"] == conversation_id
    assert built[0]["request_id"] == "socket-42"


async def _one_answered_message(url: str, origin: str) -> str:
    async with connect(
        url, origin=origin, additional_headers={"X-Request-ID": "socket-42"}
    ) as socket:
        await socket.send(json.dumps({"type": "hello", "token": None, "last_seq": 0}))
        welcome = json.loads(await socket.recv())
        await socket.send(json.dumps({"type": "message", "client_id": "m1", "text": "hello"}))
        while True:
            frame = json.loads(await asyncio.wait_for(socket.recv(), timeout=60))
            if frame["type"] == "stream_end":
                return welcome["conversation_id"]


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_a_worker_logs_json_lines_too(requires_services, tmp_path):
    worker = start_celery_worker(
        tmp_path, "json-logs-check", log_name="json-logs", environment={"LOG_FORMAT": "json"}
    )
    try:
        lines = worker.log_path.read_text(errors="replace").splitlines()
    finally:
        stop(worker)

    logged = [json.loads(line) for line in lines if line.startswith("{")]
    ready = [line for line in logged if line["message"].endswith(" ready.")]
    assert ready and ready[0]["level"] == "INFO" and ready[0]["logger"] == "celery.apps.worker"
    assert set(ready[0]) >= {"time", "conversation_id", "request_id"}
