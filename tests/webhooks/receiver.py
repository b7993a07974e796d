"""A real webhook receiver for tests: an HTTP server on 127.0.0.1 that can go down and come back.

It checks each request as docs/webhooks.md tells receivers to, and keeps what it was sent.
"""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from chatbot.webhooks.signing import InvalidSignature, verify_signature
from tests.live_server import free_port

WAIT_SECONDS = 30


class Receiver:
    """Listens on a fixed port while up; refuses connections (nothing listens) while down."""

    def __init__(self, secret: str = "", status: int = 204) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/hook"
        self.secret = secret
        self.status = status
        self.received: list[dict] = []  # every request, in arrival order, duplicates included
        self.bad_signatures: list[str] = []
        self._server: ThreadingHTTPServer | None = None
        self._lock = threading.Lock()

    def up(self) -> "Receiver":
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.record(self.headers, body)
                self.send_response(receiver.status)
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def down(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def record(self, headers, body: bytes) -> None:
        try:
            verify_signature(
                self.secret, body, headers["Webhook-Timestamp"], headers["Webhook-Signature"]
            )
        except InvalidSignature as error:
            with self._lock:
                self.bad_signatures.append(str(error))
            return
        envelope = json.loads(body)
        with self._lock:
            self.received.append({"webhook_id": headers["Webhook-Id"], **envelope})

    def first_arrivals(self) -> list[dict]:
        """What an idempotent receiver processes: each id once, at its first arrival."""
        seen, kept = set(), []
        with self._lock:
            for envelope in self.received:
                if envelope["id"] not in seen:
                    seen.add(envelope["id"])
                    kept.append(envelope)
        return kept


def wait_for(condition, what: str, seconds: float = WAIT_SECONDS):
    """Return the condition's first true value, failing the test after `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    pytest.fail(f"waited {seconds} s for {what}")


def embedded_deliveries_idle() -> bool:
    """Whether no in-process delivery thread is alive (they write to the database)."""
    from chatbot.webhooks.tasks import THREAD_NAME_PREFIX

    return not any(
        thread.name.startswith(THREAD_NAME_PREFIX) and thread.is_alive()
        for thread in threading.enumerate()
    )
