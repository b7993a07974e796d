"""The widget's "talk to a person" controls, in Chromium, against a scripted chat socket.

The page and the widget's own files are served from the working tree by Playwright, and the
websocket is answered by a fake server in the test: the widget is checked frame by frame
against docs/handoff.md without depending on the server side of the handoff.
"""

import json
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Route, WebSocketRoute, expect

pytestmark = pytest.mark.e2e

UI_TIMEOUT_MS = 10_000
ORIGIN = "http://widget.test"
STATIC_DIR = Path(__file__).resolve().parents[2] / "chatbot" / "static" / "chatbot"
HOSTILE_NAME = '<script>window.__hostile = 1</script><img src=x onerror="window.__hostile = 2">Anna'

PAGE_TEMPLATE = """<!doctype html>
<html lang="{lang}">
<head><meta charset="utf-8"><title>Widget handoff test</title></head>
<body>
  <main><h1>Test page</h1></main>
  <script src="/static/chatbot/widget.js" data-chat-widget data-server="{origin}"
          data-title="Support" data-lang="{lang}" defer></script>
</body>
</html>
"""


class FakeChatServer:
    """Answer the widget's socket like the server would: welcome, replay, synced, then a script."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.connections: list[WebSocketRoute] = []
        self.received: list[dict] = []
        self.replay: list[dict] = []  # Events sent after each welcome.
        self.after_hello: list[dict] = []  # Frames sent after synced (the current handoff status).
        page.route_web_socket(re.compile(r"/ws/chat/$"), self.accept)

    def accept(self, connection: WebSocketRoute) -> None:
        self.connections.append(connection)
        connection.on_message(lambda message: self.receive(connection, message))

    def receive(self, connection: WebSocketRoute, message: str | bytes) -> None:
        frame = json.loads(message)
        self.received.append(frame)
        if frame["type"] == "hello":
            last_seq = frame["last_seq"]
            events = [event for event in self.replay if event["seq"] > last_seq]
            newest = max([last_seq] + [event["seq"] for event in events])
            connection.send(
                json.dumps(
                    {
                        "type": "welcome",
                        "token": "token-1",
                        "conversation_id": "c-1",
                        "last_seq": newest,
                        "limits": {"max_message_chars": 2000},
                    }
                )
            )
            for event in events:
                connection.send(json.dumps(event))
            connection.send(json.dumps({"type": "synced", "last_seq": newest}))
            for status_frame in self.after_hello:
                connection.send(json.dumps(status_frame))

    def send(self, *frames: dict) -> None:
        """Send frames to the widget on its newest socket."""
        for frame in frames:
            self.connections[-1].send(json.dumps(frame))

    def frames_of_type(self, frame_type: str) -> list[dict]:
        return [frame for frame in self.received if frame["type"] == frame_type]

    def wait_for_frame(self, predicate: Callable[[dict], bool], after: int = 0) -> dict:
        """Return the first frame from the widget, from index `after` on, that matches."""
        deadline = time.monotonic() + UI_TIMEOUT_MS / 1000
        while time.monotonic() < deadline:
            for frame in self.received[after:]:
                if predicate(frame):
                    return frame
            self.page.wait_for_timeout(50)  # Lets Playwright deliver the widget's frames.
        raise AssertionError(f"no matching frame from the widget; it sent {self.received!r}")

    def wait_for_type(self, frame_type: str, after: int = 0) -> dict:
        return self.wait_for_frame(lambda frame: frame["type"] == frame_type, after)

    def wait_for_connections(self, count: int) -> None:
        deadline = time.monotonic() + UI_TIMEOUT_MS / 1000
        while len(self.connections) < count and time.monotonic() < deadline:
            self.page.wait_for_timeout(50)
        assert len(self.connections) >= count, "the widget did not reconnect"


def handoff(status: str, **fields) -> dict:
    return {"type": "handoff", "status": status, **fields}


def event(
    seq: int, author: str, text: str, kind: str = "message", data: dict | None = None
) -> dict:
    frame = {
        "type": "event",
        "seq": seq,
        "kind": kind,
        "author": author,
        "text": text,
        "client_id": None,
        "created_at": "2026-11-28T10:00:00.000Z",
    }
    if data is not None:
        frame["data"] = data
    return frame


def serve_static(route: Route) -> None:
    name = route.request.url.split("/static/chatbot/", 1)[1].split("?")[0]
    path = STATIC_DIR / name
    if name not in {"widget.js", "widget.css"} or not path.is_file():
        route.fulfill(status=404, body="")
        return
    content_type = "text/javascript" if name.endswith(".js") else "text/css"
    route.fulfill(status=200, body=path.read_bytes(), headers={"content-type": content_type})


@pytest.fixture
def context(chromium_browser: Browser) -> Iterator[BrowserContext]:
    context = chromium_browser.new_context(viewport={"width": 1280, "height": 860})
    context.set_default_timeout(UI_TIMEOUT_MS)
    yield context
    context.close()


def open_widget_page(context: BrowserContext, lang: str = "en") -> tuple[Page, FakeChatServer]:
    """Serve a page with the widget, open the chat and wait until the fake server synced it."""
    page = context.new_page()
    page.on("dialog", lambda dialog: dialog.dismiss())
    server = FakeChatServer(page)
    page.route(f"{ORIGIN}/static/chatbot/*", serve_static)
    page.route(
        f"{ORIGIN}/",
        lambda route: route.fulfill(
            status=200,
            body=PAGE_TEMPLATE.format(lang=lang, origin=ORIGIN),
            headers={"content-type": "text/html; charset=utf-8"},
        ),
    )
    page.goto(f"{ORIGIN}/")
    page.get_by_test_id("chat-launcher").click()
    expect(page.get_by_test_id("chat-panel")).to_be_visible()
    server.wait_for_type("hello")
    expect(page.locator("[data-chat-widget-root]")).to_have_attribute("data-connection", "ready")
    return page, server


def strip(page: Page):
    return page.get_by_test_id("chat-handoff-status")


def test_waiting_in_the_queue_updates_live_and_cancelling_returns_to_the_assistant(context):
    # Given an open chat with the assistant
    page, server = open_widget_page(context)
    request = page.get_by_role("button", name="Talk to a person")
    expect(request).to_be_visible()
    expect(strip(page)).to_have_text("")

    # When the visitor asks for a person
    request.click()

    # Then the widget asks the server, and says it is connecting at once
    assert server.wait_for_type("handoff_request") == {"type": "handoff_request"}
    expect(strip(page)).to_contain_text("Connecting you to an agent…")
    expect(request).to_be_hidden()

    # When the server puts the visitor in the queue, then moves them up
    server.send(handoff("waiting", reason="requested", position=3, estimated_wait_seconds=150))

    # Then the strip shows the place and the estimate, updated live
    expect(strip(page)).to_have_text(
        "Connecting you to an agent… You are number 3 in the queue, about 3 min."
    )
    cancel = page.get_by_role("button", name="Cancel, back to the assistant")
    expect(cancel).to_be_visible()
    server.send(handoff("waiting", reason="requested", position=1, estimated_wait_seconds=40))
    expect(strip(page)).to_contain_text("You are number 1 in the queue, less than a minute.")

    # When the visitor writes while waiting
    page.get_by_test_id("chat-input").fill("Are you there?")
    page.get_by_test_id("chat-input").press("Enter")

    # Then the message goes out as usual
    message = server.wait_for_type("message")
    assert message["text"] == "Are you there?"

    # When the server records the escalation as a system event, with markup in its text
    server.send(
        {"type": "ack", "client_id": message["client_id"], "seq": 1, "duplicate": False},
        event(1, "visitor", "Are you there?"),
        event(
            2,
            "system",
            "Waiting for an agent <b>now</b>",
            kind="handoff",
            data={"status": "waiting", "reason": "requested"},
        ),
    )

    # Then it is a centred note, as text
    note = page.locator('[data-testid="chat-message"][data-kind="handoff"]')
    expect(note).to_have_text("Waiting for an agent <b>now</b>")
    expect(page.locator(".cw-row.cw-is-note", has=note)).to_have_count(1)
    assert page.get_by_test_id("chat-message-list").locator("b").count() == 0

    # When the visitor cancels
    before = len(server.received)
    cancel.click()

    # Then the widget sends handoff_cancel once, and the server's "bot" brings the assistant back
    assert server.wait_for_type("handoff_cancel", after=before) == {"type": "handoff_cancel"}
    expect(cancel).to_be_disabled()
    server.send(handoff("bot"))
    expect(strip(page)).to_have_text("You're back with the virtual assistant")
    expect(cancel).to_be_hidden()
    expect(request).to_be_visible()

    # When the server sends a status this widget does not know, or a broken frame
    server.send(handoff("transferring", position=9), {"type": "handoff"}, handoff(None))

    # Then nothing changes
    page.wait_for_timeout(200)
    expect(strip(page)).to_have_text("You're back with the virtual assistant")
    assert len(server.frames_of_type("handoff_cancel")) == 1


def test_an_agent_joins_types_and_answers_by_name_and_a_reconnect_changes_nothing(context):
    # Given a visitor waiting for an agent
    page, server = open_widget_page(context)
    page.get_by_role("button", name="Talk to a person").click()
    server.wait_for_type("handoff_request")
    server.send(handoff("waiting", reason="requested", position=1, estimated_wait_seconds=20))
    expect(strip(page)).to_contain_text("less than a minute")

    # When an agent whose name holds markup joins
    server.send(handoff("agent", agent={"name": HOSTILE_NAME}))

    # Then the strip names them, as literal text, and the waiting controls are gone
    expect(strip(page)).to_have_text(f"{HOSTILE_NAME} has joined")
    expect(page.get_by_test_id("chat-handoff-cancel")).to_be_hidden()
    expect(page.get_by_test_id("chat-handoff-request")).to_be_hidden()

    # When the agent types, and then writes
    server.send({"type": "typing", "author": "agent", "is_typing": True})
    typing = page.get_by_test_id("chat-typing-indicator")
    expect(typing).to_be_visible()
    expect(page.get_by_test_id("chat-typing-label")).to_have_text(f"{HOSTILE_NAME} is typing…")
    expect(page.get_by_test_id("chat-typing-label")).to_be_visible()
    agent_message = event(1, "agent", "Hello, how can I help?", data={"agent_name": "Anna Example"})
    server.replay.append(agent_message)
    server.send(agent_message)

    # Then the message carries the agent's name and the typing indicator goes
    bubble = page.locator('[data-testid="chat-message"][data-author="agent"]')
    expect(bubble).to_have_text("Hello, how can I help?")
    expect(page.get_by_test_id("chat-message-author")).to_have_text("Anna Example")
    expect(typing).to_be_hidden()

    # And nothing in the name ran or became markup
    root = page.locator("[data-chat-widget-root]")
    assert root.locator("script, img").count() == 0
    assert page.evaluate("window.__hostile") is None

    # When the agent types again and stops
    server.send({"type": "typing", "author": "agent", "is_typing": True})
    expect(typing).to_be_visible()
    server.send({"type": "typing", "author": "agent", "is_typing": False})
    expect(typing).to_be_hidden()

    # When the connection drops and the server repeats the current status after the replay
    server.after_hello = [handoff("agent", agent={"name": HOSTILE_NAME})]
    server.connections[0].close()
    server.wait_for_connections(2)
    expect(root).to_have_attribute("data-connection", "ready")
    page.wait_for_timeout(200)

    # Then the widget shows exactly what it showed before
    expect(strip(page)).to_have_text(f"{HOSTILE_NAME} has joined")
    expect(bubble).to_have_count(1)
    expect(page.get_by_test_id("chat-handoff-request")).to_be_hidden()
    assert server.received[-1]["type"] == "hello"
    assert server.received[-1]["last_seq"] == 1

    # When a bot's typing frame arrives, the indicator does not name the agent
    server.send({"type": "typing", "author": "bot", "is_typing": True})
    expect(typing).to_be_visible()
    expect(page.get_by_test_id("chat-typing-label")).to_have_text("typing…")
    expect(page.get_by_test_id("chat-typing-label")).not_to_be_in_viewport()


def test_with_nobody_available_the_visitor_leaves_a_message(context):
    # Given a visitor who asked for a person when no agent is online
    page, server = open_widget_page(context)
    page.get_by_role("button", name="Talk to a person").click()
    server.wait_for_type("handoff_request")
    server.send(handoff("unavailable", why="no_agent_online", can_leave_message=True))

    # Then the widget explains, and offers a form
    expect(strip(page)).to_contain_text("No agent is available right now.")
    expect(strip(page)).to_contain_text("Leave a message and an agent will get back to you.")
    form = page.get_by_test_id("chat-leave-message-form")
    expect(form).to_be_visible()
    text_field = page.get_by_label("Your message", exact=True)
    contact_field = page.get_by_label("Email or phone (optional)")
    send_button = page.get_by_role("button", name="Send message")
    error = page.get_by_test_id("chat-leave-message-error")

    # When the visitor sends it empty
    send_button.click()

    # Then nothing is sent and the field says why
    expect(error).to_have_text("Please write a message.")
    expect(text_field).to_have_attribute("aria-invalid", "true")
    expect(text_field).to_be_focused()

    # When the message is too long
    text_field.fill("x" * 2001)
    expect(error).to_have_text("Your message is 1 characters too long.")
    send_button.click()
    page.wait_for_timeout(200)
    assert server.frames_of_type("leave_message") == []

    # When the visitor writes a message and a way to reach them
    text_field.fill("  Please call me about my card.  ")
    expect(error).to_have_text("")
    contact_field.fill(" anna@example.com ")
    send_button.click()

    # Then one leave_message goes out, trimmed, and the form waits for the answer
    assert server.wait_for_type("leave_message") == {
        "type": "leave_message",
        "text": "Please call me about my card.",
        "contact": "anna@example.com",
    }
    expect(page.get_by_test_id("chat-leave-message-send")).to_be_disabled()

    # When the server confirms
    server.send(handoff("message_left"))

    # Then the visitor is thanked and the form is gone
    expect(strip(page)).to_have_text("Thanks — an agent will get back to you.")
    expect(form).to_be_hidden()
    assert len(server.frames_of_type("leave_message")) == 1

    # When the connection drops and the server repeats the handoff's last status
    server.after_hello = [handoff("unavailable", why="no_agent_online", can_leave_message=True)]
    server.connections[0].close()
    server.wait_for_connections(2)
    expect(page.locator("[data-chat-widget-root]")).to_have_attribute("data-connection", "ready")
    page.wait_for_timeout(200)

    # Then the form does not come back
    expect(form).to_be_hidden()

    # When later, outside opening hours, nobody can take a message either
    before = len(server.received)
    page.get_by_role("button", name="Talk to a person").click()
    server.wait_for_type("handoff_request", after=before)
    server.send(handoff("unavailable", why="outside_hours", can_leave_message=False))

    # Then the widget says so, without a form, and the notice can be dismissed
    expect(strip(page)).to_have_text("Our agents are away: it is outside our opening hours.")
    expect(form).to_be_hidden()
    page.get_by_role("button", name="Dismiss").click()
    expect(strip(page)).to_have_text("")
    expect(page.get_by_test_id("chat-input")).to_be_focused()


def test_a_closed_conversation_is_rated_once_with_the_keyboard(context):
    # Given a conversation with an agent
    page, server = open_widget_page(context)
    server.send(handoff("agent", agent={"name": "Anna"}))
    expect(strip(page)).to_have_text("Anna has joined")

    # When the agent closes it
    server.send(handoff("closed", can_rate=True))

    # Then the widget offers a rating from one to five stars
    rating = page.get_by_role("group", name="How would you rate this chat?")
    expect(rating).to_be_visible()
    expect(rating.get_by_role("radio")).to_have_count(5)
    send_rating = page.get_by_role("button", name="Send rating")
    expect(send_rating).to_be_disabled()

    # When the visitor picks four stars with the arrow keys and sends with Enter
    page.get_by_role("radio", name="1 star", exact=True).focus()
    page.keyboard.press("Space")
    for _ in range(3):
        page.keyboard.press("ArrowRight")
    expect(page.get_by_role("radio", name="4 stars")).to_be_checked()
    expect(page.locator(".cw-star[data-filled]")).to_have_count(4)
    page.keyboard.press("Tab")
    expect(send_rating).to_be_focused()
    page.keyboard.press("Enter")

    # Then one rate frame goes out, and a repeated "closed" does not offer it again
    assert server.wait_for_type("rate") == {"type": "rate", "score": 4}
    send_rating = page.get_by_test_id("chat-rating-send")
    expect(send_rating).to_be_disabled()
    server.send(handoff("closed", can_rate=True))
    page.wait_for_timeout(200)
    expect(send_rating).to_be_disabled()
    expect(page.get_by_role("radio", name="4 stars")).to_be_disabled()
    send_rating.click(force=True)
    page.wait_for_timeout(200)
    assert len(server.frames_of_type("rate")) == 1

    # When the server confirms
    server.send(handoff("rated"))

    # Then the visitor is thanked and the stars are gone
    expect(strip(page)).to_have_text("Thanks for your feedback")
    expect(rating).to_be_hidden()
    expect(page.get_by_test_id("chat-input")).to_be_focused()


LANGUAGES = {
    "en": (
        "Talk to a person",
        "You are number 2 in the queue, about 2 min.",
        "Cancel, back to the assistant",
    ),
    "de": (
        "Mit einem Menschen sprechen",
        "Sie sind Nummer 2 in der Warteschlange, etwa 2 min.",
        "Abbrechen, zurück zum Assistenten",
    ),
    "fr": (
        "Parler à un conseiller",
        "Vous êtes n° 2 dans la file d’attente, environ 2 min.",
        "Annuler, revenir à l’assistant",
    ),
    "es": (
        "Hablar con una persona",
        "Es el número 2 en la cola, unos 2 min.",
        "Cancelar y volver al asistente",
    ),
}


@pytest.mark.parametrize("lang", sorted(LANGUAGES))
def test_the_handoff_controls_speak_the_page_language(context, lang):
    request_label, queue_text, cancel_label = LANGUAGES[lang]
    page, server = open_widget_page(context, lang=lang)
    page.get_by_role("button", name=request_label).click()
    server.wait_for_type("handoff_request")
    server.send(handoff("waiting", reason="requested", position=2, estimated_wait_seconds=90))
    expect(strip(page)).to_contain_text(queue_text)
    expect(page.get_by_role("button", name=cancel_label)).to_be_visible()
