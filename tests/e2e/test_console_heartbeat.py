"""The agent console's heartbeat, in Chromium: it pings as the server asks, and leaves a silent one.

The console page comes from a real server; its websocket is answered by a script in the test, so
the server's silence can be staged.
"""

import json
import re
import time
from collections.abc import Callable

import pytest
from playwright.sync_api import Browser, Page, WebSocketRoute, expect

from tests.e2e.test_handoff_flow import AGENT, desk_server, log_in  # noqa: F401  (fixture)

pytestmark = pytest.mark.e2e

UI_TIMEOUT_MS = 20_000
HEARTBEAT_SECONDS = 1


class ScriptedConsoleSocket:
    """Answer the console's socket: `hello` with a one-second heartbeat, then pongs while told."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.connections: list[WebSocketRoute] = []
        self.received: list[tuple[int, dict]] = []  # (connection number, frame)
        self.is_answering = True
        page.route_web_socket(re.compile(r"/ws/agent/$"), self.accept)

    def accept(self, connection: WebSocketRoute) -> None:
        number = len(self.connections)
        self.connections.append(connection)
        connection.on_message(lambda message: self.receive(number, connection, message))
        agent = {"id": 1, "name": "Anna", "online": True, "capacity": 3, "skills": []}
        connection.send(
            json.dumps({"type": "hello", "agent": agent, "heartbeat_seconds": HEARTBEAT_SECONDS})
        )
        connection.send(json.dumps({"type": "queue", "items": []}))

    def receive(self, number: int, connection: WebSocketRoute, message: str | bytes) -> None:
        frame = json.loads(message)
        self.received.append((number, frame))
        if frame["type"] == "ping" and self.is_answering:
            connection.send(json.dumps({"type": "pong"}))

    def pings_on(self, number: int) -> int:
        return sum(1 for on, frame in self.received if on == number and frame["type"] == "ping")

    def wait_until(self, condition: Callable[[], bool], what: str) -> None:
        deadline = time.monotonic() + UI_TIMEOUT_MS / 1000
        while not condition():
            if time.monotonic() > deadline:
                raise AssertionError(f"waited for {what}; the console sent {self.received!r}")
            self.page.wait_for_timeout(100)  # Lets Playwright deliver the console's frames.


def test_the_console_pings_as_told_and_reconnects_when_the_server_goes_silent(
    chromium_browser: Browser,
    desk_server,  # noqa: F811  (the fixture imported above)
):
    context = chromium_browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(UI_TIMEOUT_MS)
    try:
        # Given a console whose server asks for a ping every second
        console = context.new_page()
        socket = ScriptedConsoleSocket(console)
        log_in(console, desk_server, AGENT, "/console/")
        expect(console.get_by_test_id("connection-status")).to_have_text("Connected")

        # Then it pings, and stays on the socket while the server answers
        socket.wait_until(lambda: socket.pings_on(0) >= 4, "four pings on the first socket")
        assert len(socket.connections) == 1

        # When the server stops answering, as a process that died would
        socket.is_answering = False

        # Then the console gives that socket up and connects afresh, and pings there
        socket.wait_until(lambda: len(socket.connections) == 2, "a second connection")
        socket.wait_until(lambda: socket.pings_on(1) >= 1, "a ping on the second socket")
        expect(console.get_by_test_id("connection-status")).to_have_text("Connected")
    finally:
        context.close()
