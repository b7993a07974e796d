"""A real HTTP server speaking the streaming chat-completions API, told per test how to behave.

It runs on 127.0.0.1 in a background thread. Each request takes the next scripted response
(`server.respond(...)`), or `server.default` when none is left, and is recorded with its
headers and JSON body, so a test can check what the backend sent. A request with `"stream":
false` gets the whole completion as one JSON object instead of a stream.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


@dataclass(frozen=True)
class Stream:
    """Stream the tokens, then end as `ending` says: "done", "close" (no [DONE]) or "stall"."""

    tokens: Sequence[str] = ("Hello", " there.")
    first_token_delay_seconds: float = 0.0
    token_delay_seconds: float = 0.0
    ending: str = "done"
    stall_seconds: float = 10.0
    raw_line: str | None = None  # sent after the tokens, before the ending
    finish_reason: str = "stop"


@dataclass(frozen=True)
class Status:
    """Answer with an HTTP error status and a JSON error body."""

    code: int
    message: str = "scripted failure"


def malformed(line: str = "data: {not json", tokens: Sequence[str] = ()) -> Stream:
    """Stream the tokens, then a broken line."""
    return Stream(tokens=tokens, raw_line=line)


def stalled(tokens: Sequence[str] = ("The fee",), seconds: float = 10.0) -> Stream:
    """Stream the tokens, then send nothing more, keeping the connection open."""
    return Stream(tokens=tokens, ending="stall", stall_seconds=seconds)


def closed_early(tokens: Sequence[str] = ("The fee",)) -> Stream:
    """Stream the tokens, then close the connection without [DONE]."""
    return Stream(tokens=tokens, ending="close")


@dataclass(frozen=True)
class RecordedRequest:
    path: str
    headers: dict
    body: dict


class FakeOpenAIServer:
    """The server, its script of responses and the requests it received."""

    def __init__(self) -> None:
        self.default: Stream | Status = Stream()
        self.requests: list[RecordedRequest] = []
        self.stopping = threading.Event()
        self._script: deque = deque()
        self._lock = threading.Lock()
        self._http = _HTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._thread = threading.Thread(
            target=self._http.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._http.server_address[1]}/v1"

    def respond(self, *responses: Stream | Status) -> None:
        """Answer the next requests with these responses, in order."""
        with self._lock:
            self._script.extend(responses)

    def start(self) -> FakeOpenAIServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()  # releases stalled and delayed streams
        self._http.shutdown()
        self._http.server_close()

    def _next_response(self, request: RecordedRequest) -> Stream | Status:
        with self._lock:
            self.requests.append(request)
            return self._script.popleft() if self._script else self.default


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # many conversations connect at once in the check script's test


@pytest.fixture
def fake_server() -> Iterator[FakeOpenAIServer]:
    server = FakeOpenAIServer().start()
    yield server
    server.stop()


def _handler_for(server: FakeOpenAIServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"{}")
            request = RecordedRequest(self.path, dict(self.headers), body)
            response = server._next_response(request)
            try:
                if isinstance(response, Status):
                    self._send_status(response)
                elif body.get("stream") is False:
                    self._send_completion(response, body)
                else:
                    self._send_stream(response, body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up, as a timed-out backend does

        def _send_status(self, status: Status) -> None:
            payload = json.dumps({"error": {"message": status.message}}).encode()
            self.send_response(status.code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def _send_completion(self, stream: Stream, body: dict) -> None:
            message = {"role": "assistant", "content": "".join(stream.tokens)}
            choice = {"index": 0, "message": message, "finish_reason": stream.finish_reason}
            completion = {
                "id": "chatcmpl-fake",
                "object": "chat.completion",
                "model": body.get("model", ""),
                "choices": [choice],
                "usage": {"completion_tokens": len(stream.tokens)},
            }
            payload = json.dumps(completion).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def _send_stream(self, stream: Stream, body: dict) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.end_headers()
            model = body.get("model", "")
            self._send_event(_chunk(model, {"role": "assistant", "content": ""}))
            if server.stopping.wait(stream.first_token_delay_seconds):
                return
            for index, token in enumerate(stream.tokens):
                if index and server.stopping.wait(stream.token_delay_seconds):
                    return
                self._send_event(_chunk(model, {"content": token}))
            if stream.raw_line is not None:
                self._send_line(stream.raw_line)
            self._end(stream, body, model)

        def _end(self, stream: Stream, body: dict, model: str) -> None:
            if stream.ending == "stall":
                server.stopping.wait(stream.stall_seconds)
                return
            if stream.ending == "close":
                return  # HTTP/1.0: closing the connection ends the body
            self._send_event(_chunk(model, {}, stream.finish_reason))
            if (body.get("stream_options") or {}).get("include_usage"):
                usage = {"completion_tokens": len(stream.tokens)}
                self._send_event({"id": "chatcmpl-fake", "choices": [], "usage": usage})
            self._send_line("data: [DONE]")

        def _send_event(self, event: dict) -> None:
            self._send_line("data: " + json.dumps(event))

        def _send_line(self, line: str) -> None:
            self.wfile.write(line.encode() + b"\n\n")
            self.wfile.flush()

        def log_message(self, format: str, *args) -> None:
            pass

    return Handler


def _chunk(model: str, delta: dict, finish_reason: str | None = None) -> dict:
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion.chunk",
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
    }
