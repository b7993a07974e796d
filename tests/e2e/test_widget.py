"""The chat widget on the demo page, in Chromium, against a real server process.

The bot's words are not fixed, so these tests never assert on them: only that a bot reply
exists, that it streamed, and where it sits in the conversation.
"""

import json
import re
import time
from collections.abc import Callable

import pytest
from playwright.sync_api import Browser, Page, WebSocketRoute, expect

pytestmark = pytest.mark.e2e

BOT_REPLY_TIMEOUT_MS = 90_000
UI_TIMEOUT_MS = 15_000
HOSTILE_TEXT = "<img src=x onerror=alert(1)>"

# Records each distinct text length of every streaming bot bubble, keyed by stream id.
RECORD_STREAM_GROWTH = """
window.__streamGrowth = {};
new MutationObserver(() => {
  const selector = '[data-testid="chat-message"][data-author="bot"][data-streaming="true"]';
  for (const bubble of document.querySelectorAll(selector)) {
    const lengths = (window.__streamGrowth[bubble.dataset.streamId] ||= []);
    const length = bubble.textContent.length;
    if (length > 0 && lengths[lengths.length - 1] !== length) {
      lengths.push(length);
    }
  }
}).observe(document, {subtree: true, childList: true, characterData: true, attributes: true});
"""

COMMITTED_MESSAGES = """
() => Array.from(
  document.querySelectorAll('[data-testid="chat-message"]:not([data-seq=""])'),
  (bubble) => ({author: bubble.dataset.author, seq: Number(bubble.dataset.seq),
                text: bubble.textContent})
)
"""


@pytest.fixture
def context(chromium_browser: Browser):
    """Give each test a fresh browser profile: no token, no history."""
    context = chromium_browser.new_context(viewport={"width": 1280, "height": 860})
    context.set_default_timeout(UI_TIMEOUT_MS)
    context.add_init_script(RECORD_STREAM_GROWTH)
    yield context
    context.close()


def open_page(context, base_url: str) -> tuple[Page, list[str]]:
    """Open the demo page; return it with the list that collects any dialog it raises."""
    page = context.new_page()
    dialogs: list[str] = []

    def record_dialog(dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", record_dialog)
    page.goto(base_url + "/")
    expect(page.get_by_test_id("chat-launcher")).to_be_visible()
    return page, dialogs


def open_widget(page: Page) -> None:
    """Open the chat panel unless it is already open (the open state survives a reload)."""
    launcher = page.get_by_test_id("chat-launcher")
    if launcher.get_attribute("aria-expanded") != "true":
        launcher.click()
    expect(launcher).to_have_attribute("aria-expanded", "true")
    expect(page.get_by_test_id("chat-panel")).to_be_visible()


def send(page: Page, text: str) -> int:
    """Type a message, press Enter, and return its seq once the server acknowledged it."""
    page.get_by_test_id("chat-input").fill(text)
    page.get_by_test_id("chat-input").press("Enter")
    bubble = page.locator('[data-testid="chat-message"][data-author="visitor"]').last
    expect(bubble).to_have_text(text)
    expect(bubble).to_have_attribute("data-status", "delivered")
    expect(bubble).to_have_attribute("data-seq", re.compile(r"^\d+$"))
    expect(page.get_by_test_id("chat-input")).to_have_value("")
    return int(bubble.get_attribute("data-seq"))


def wait_for_bot_reply_after(page: Page, seq: int) -> None:
    """Wait until a committed bot message follows seq and no stream is still open."""
    page.wait_for_function(
        """(seq) => {
          const bubbles = document.querySelectorAll('[data-testid="chat-message"]');
          const replied = Array.from(bubbles).some((bubble) =>
            bubble.dataset.author === "bot" && bubble.dataset.seq !== "" &&
            Number(bubble.dataset.seq) > seq && bubble.textContent.trim() !== "");
          return replied && !document.querySelector('[data-streaming="true"]');
        }""",
        arg=seq,
        timeout=BOT_REPLY_TIMEOUT_MS,
    )


def committed_messages(page: Page) -> list[dict]:
    """Return the rendered, committed messages in page order: author, seq and text."""
    return page.evaluate(COMMITTED_MESSAGES)


def wait_for_history(page: Page, expected: list[dict]) -> list[dict]:
    """Wait until at least as many committed messages as expected are shown; return them."""
    page.wait_for_function(
        "(count) => document.querySelectorAll("
        '\'[data-testid="chat-message"]:not([data-seq=""])\').length >= count',
        arg=len(expected),
        timeout=UI_TIMEOUT_MS,
    )
    return committed_messages(page)


def test_a_visitor_chats_gets_a_streamed_reply_and_finds_the_history_after_a_reload(
    context, live_server_url
):
    # Given the demo page with the chat panel open
    page, dialogs = open_page(context, live_server_url)
    open_widget(page)
    expect(page.get_by_test_id("chat-input")).to_be_focused()

    # When the visitor asks a question
    question = "How do I order a new debit card?"
    question_seq = send(page, question)

    # Then the bot's reply streams in, growing through partial states, and is committed
    wait_for_bot_reply_after(page, question_seq)
    growth = page.evaluate("window.__streamGrowth")
    partial_states = max((lengths for lengths in growth.values()), key=len, default=[])
    assert len(partial_states) >= 2, f"the reply did not stream: {growth!r}"
    assert partial_states == sorted(partial_states)
    history = committed_messages(page)
    seqs = [message["seq"] for message in history]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    visitor_messages = [message for message in history if message["author"] == "visitor"]
    assert visitor_messages[-1] == {"author": "visitor", "seq": question_seq, "text": question}
    bot_replies = [m for m in history if m["author"] == "bot" and m["seq"] > question_seq]
    assert bot_replies and all(reply["text"].strip() for reply in bot_replies)
    assert max(len(reply["text"]) for reply in bot_replies) >= partial_states[-1]

    # When the page is reloaded
    page.reload()
    open_widget(page)

    # Then the whole conversation is shown again, in the same order
    restored = wait_for_history(page, history)
    assert restored[: len(history)] == history

    # When the visitor sends markup
    hostile_seq = send(page, HOSTILE_TEXT)
    wait_for_bot_reply_after(page, hostile_seq)

    # Then it is shown as literal text, and nothing in it ran
    bubble = page.locator(f'[data-testid="chat-message"][data-seq="{hostile_seq}"]')
    assert bubble.evaluate("(element) => element.textContent") == HOSTILE_TEXT
    assert page.get_by_test_id("chat-message-list").locator("img").count() == 0
    assert dialogs == []


def test_at_phone_width_the_panel_fills_the_screen_and_the_keyboard_drives_it(
    chromium_browser: Browser, live_server_url
):
    # Given the demo page on a phone-sized screen
    context = chromium_browser.new_context(viewport={"width": 375, "height": 740})
    context.set_default_timeout(UI_TIMEOUT_MS)
    try:
        page, _ = open_page(context, live_server_url)
        launcher = page.get_by_test_id("chat-launcher")
        expect(launcher).to_have_attribute("aria-expanded", "false")

        # When the visitor tabs to the launcher and presses Enter
        for _ in range(80):
            page.keyboard.press("Tab")
            if launcher.evaluate("(element) => element === document.activeElement"):
                break
        expect(launcher).to_be_focused()
        page.keyboard.press("Enter")

        # Then the panel opens over the full width, with the focus in the message field
        expect(launcher).to_have_attribute("aria-expanded", "true")
        panel = page.get_by_test_id("chat-panel")
        expect(panel).to_be_visible()
        expect(page.get_by_test_id("chat-input")).to_be_focused()
        panel.evaluate("(element) => Promise.all(element.getAnimations().map((a) => a.finished))")
        box = panel.bounding_box()
        assert box is not None
        assert (box["x"], box["width"]) == (0, 375)

        # When the visitor presses Escape
        page.keyboard.press("Escape")

        # Then the panel closes and the focus returns to the launcher
        expect(panel).to_be_hidden()
        expect(launcher).to_have_attribute("aria-expanded", "false")
        expect(launcher).to_be_focused()
    finally:
        context.close()


def test_a_second_tab_shows_the_same_conversation_and_counts_unread_replies(
    context, live_server_url
):
    # Given a conversation in one tab
    first_tab, _ = open_page(context, live_server_url)
    open_widget(first_tab)
    first_seq = send(first_tab, "What is the interest rate on easy access savings?")
    wait_for_bot_reply_after(first_tab, first_seq)
    history = committed_messages(first_tab)

    # When a second tab opens the demo page and its chat
    second_tab, _ = open_page(context, live_server_url)
    open_widget(second_tab)

    # Then it shows the same conversation
    assert wait_for_history(second_tab, history)[: len(history)] == history

    # When the second tab's panel is closed and the first tab asks another question
    second_tab.get_by_test_id("chat-close").click()
    expect(second_tab.get_by_test_id("chat-panel")).to_be_hidden()
    expect(second_tab.get_by_test_id("chat-unread-badge")).to_be_hidden()
    second_seq = send(first_tab, "Can I use my card abroad?")
    wait_for_bot_reply_after(first_tab, second_seq)

    # Then the second tab gets the reply too, and its launcher shows it as unread
    wait_for_bot_reply_after(second_tab, second_seq)
    badge = second_tab.get_by_test_id("chat-unread-badge")
    expect(badge).to_be_visible()
    expect(badge).to_have_text(re.compile(r"^[1-9]\d*$"))
    second_tab.get_by_test_id("chat-launcher").click()
    expect(badge).to_be_hidden()


class ScriptedChatServer:
    """Stand in for the server's websocket, so a test plays the protocol frame by frame."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.connections: list[WebSocketRoute] = []
        self.received: list[tuple[int, dict]] = []
        page.route_web_socket(re.compile(r"/ws/chat/$"), self.accept)

    def accept(self, connection: WebSocketRoute) -> None:
        """Take a new socket from the widget and record every frame it sends."""
        index = len(self.connections)
        self.connections.append(connection)
        connection.on_message(lambda message: self.received.append((index, json.loads(message))))

    def send(self, *frames: dict) -> None:
        """Send frames to the widget on its newest socket."""
        for frame in frames:
            self.connections[-1].send(json.dumps(frame))

    def wait_for_frame(self, predicate: Callable[[dict], bool], after: int = 0) -> dict:
        """Return the first frame from the widget, at or after index `after`, that matches."""
        deadline = time.monotonic() + UI_TIMEOUT_MS / 1000
        while time.monotonic() < deadline:
            for _, frame in self.received[after:]:
                if predicate(frame):
                    return frame
            self.page.wait_for_timeout(50)  # Lets Playwright deliver the widget's frames.
        raise AssertionError(f"no matching frame from the widget; it sent {self.received!r}")

    def wait_for_connection(self, count: int) -> None:
        """Wait until the widget has opened `count` sockets in all."""
        self.wait_for_frame(lambda frame: len(self.connections) >= count)


def stored_event(seq: int, author: str, text: str, client_id=None, kind="message") -> dict:
    """Return an `event` frame as the server sends it."""
    return {
        "type": "event",
        "seq": seq,
        "kind": kind,
        "author": author,
        "text": text,
        "client_id": client_id,
        "created_at": "2026-11-28T10:00:00.000Z",
    }


def welcome(last_seq: int) -> dict:
    """Return the scripted server's `welcome`, with a message limit of 20 characters."""
    return {
        "type": "welcome",
        "token": "token-1",
        "conversation_id": "c-1",
        "last_seq": last_seq,
        "limits": {"max_message_chars": 20},
    }


def frame_of_type(frame_type: str) -> Callable[[dict], bool]:
    """Match the widget's frames of one type."""
    return lambda frame: frame["type"] == frame_type


def shown_messages(page: Page) -> list[tuple[str, int, str]]:
    """Return the committed messages as (author, seq, text)."""
    return [(m["author"], m["seq"], m["text"]) for m in committed_messages(page)]


def test_the_widget_keeps_order_fills_gaps_and_resends_unacknowledged_messages(
    context, live_server_url
):
    # Given the widget talking to a scripted server, which replays two stored events
    page = context.new_page()
    server = ScriptedChatServer(page)
    page.goto(live_server_url + "/")
    open_widget(page)
    hello = server.wait_for_frame(frame_of_type("hello"))
    assert hello == {"type": "hello", "token": None, "last_seq": 0}
    server.send(
        welcome(last_seq=2),
        stored_event(1, "system", "", kind="conversation_started"),
        stored_event(2, "bot", "Hello"),
        {"type": "synced", "last_seq": 2},
    )
    expect(page.locator('[data-seq="2"]')).to_have_text("Hello")

    # When an event repeats, and then one arrives after a gap
    server.send(stored_event(2, "bot", "Hello"), stored_event(4, "bot", "Fourth"))

    # Then the repeat is dropped, the early event waits, and the widget asks to resume
    assert server.wait_for_frame(frame_of_type("resume")) == {"type": "resume", "last_seq": 2}
    assert shown_messages(page) == [("bot", 2, "Hello")]
    server.send(
        stored_event(3, "agent", "Third"),
        stored_event(4, "bot", "Fourth"),
        {"type": "synced", "last_seq": 4},
    )
    expect(page.locator('[data-seq="4"]')).to_have_text("Fourth")
    assert shown_messages(page) == [
        ("bot", 2, "Hello"),
        ("agent", 3, "Third"),
        ("bot", 4, "Fourth"),
    ]

    # When a reply is streaming and the connection drops
    server.send(
        {"type": "stream_start", "stream_id": "s-5", "author": "bot"},
        {"type": "stream_delta", "stream_id": "s-5", "text": "Par"},
        {"type": "stream_delta", "stream_id": "s-5", "text": "tial"},
    )
    streaming = page.locator('[data-streaming="true"]')
    expect(streaming).to_have_text("Partial")
    expect(page.get_by_test_id("chat-typing-indicator")).to_be_visible()
    server.connections[0].close()

    # Then the unfinished stream is dropped and the widget resumes with its token and last seq
    expect(streaming).to_have_count(0)
    expect(page.get_by_test_id("chat-typing-indicator")).to_be_hidden()
    server.wait_for_connection(2)
    second_hello = server.wait_for_frame(frame_of_type("hello"), after=len(server.received) - 1)
    assert second_hello == {"type": "hello", "token": "token-1", "last_seq": 4}

    # When the visitor sends while the replay is still pending
    page.get_by_test_id("chat-input").fill("Question")
    page.get_by_test_id("chat-input").press("Enter")
    visitor_bubble = page.locator('[data-author="visitor"]')
    expect(visitor_bubble).to_have_attribute("data-status", "sending")
    assert not any(frame["type"] == "message" for _, frame in server.received)
    received_before_sync = len(server.received)
    server.send(
        welcome(last_seq=5),
        stored_event(5, "bot", "Partial answer"),
        {"type": "synced", "last_seq": 5},
    )

    # Then the message goes out once the replay is complete
    message = server.wait_for_frame(frame_of_type("message"), after=received_before_sync)
    assert message["text"] == "Question"
    client_id = message["client_id"]

    # When the connection drops before the message was acknowledged
    server.connections[1].close()
    server.wait_for_connection(3)
    third_hello = server.wait_for_frame(frame_of_type("hello"), after=received_before_sync)
    assert third_hello == {"type": "hello", "token": "token-1", "last_seq": 5}
    received_before_sync = len(server.received)
    server.send(
        welcome(last_seq=5),
        {"type": "synced", "last_seq": 5},
    )

    # Then it is sent again with the same client_id, and acknowledged once
    resent = server.wait_for_frame(frame_of_type("message"), after=received_before_sync)
    assert resent == {"type": "message", "client_id": client_id, "text": "Question"}
    server.send(
        {"type": "ack", "client_id": client_id, "seq": 6, "duplicate": True},
        stored_event(6, "visitor", "Question", client_id=client_id),
    )
    expect(visitor_bubble).to_have_attribute("data-seq", "6")
    expect(visitor_bubble).to_have_attribute("data-status", "delivered")
    assert shown_messages(page)[-2:] == [("bot", 5, "Partial answer"), ("visitor", 6, "Question")]

    # When the visitor types more than the server's limit
    page.get_by_test_id("chat-input").fill("x" * 21)

    # Then sending is disabled and the counter says why
    expect(page.get_by_test_id("chat-send")).to_be_disabled()
    expect(page.get_by_test_id("chat-counter")).to_contain_text("21 / 20")
    page.get_by_test_id("chat-input").press("Enter")
    assert page.locator('[data-author="visitor"]').count() == 1

    # When a message is refused as too quick
    received_before_send = len(server.received)
    page.get_by_test_id("chat-input").fill("Again")
    page.get_by_test_id("chat-send").click()
    again = server.wait_for_frame(frame_of_type("message"), after=received_before_send)
    server.send(
        {
            "type": "error",
            "code": "rate_limited",
            "message": "Too many messages; wait a moment.",
            "client_id": again["client_id"],
            "retry_after": 0.5,
        }
    )

    # Then the visitor is told politely, and the widget tries again later with the same id
    expect(page.get_by_test_id("chat-notice")).to_be_visible()
    received_after_error = len(server.received)
    retried = server.wait_for_frame(frame_of_type("message"), after=received_after_error)
    assert retried == again

    # When its ack reveals an event the widget has not seen
    server.send({"type": "ack", "client_id": again["client_id"], "seq": 8, "duplicate": False})
    resume = server.wait_for_frame(frame_of_type("resume"), after=received_after_error)
    assert resume == {"type": "resume", "last_seq": 6}
    server.send(stored_event(7, "agent", "Seven"), {"type": "synced", "last_seq": 7})

    # Then the missing event is shown first and the message after it
    expect(page.locator('[data-seq="8"]')).to_have_text("Again")
    assert shown_messages(page)[-3:] == [
        ("visitor", 6, "Question"),
        ("agent", 7, "Seven"),
        ("visitor", 8, "Again"),
    ]

    # When the server refuses the token
    server.connections[2].close(code=4401, reason="invalid_token")

    # Then the widget forgets it and starts a new conversation
    server.wait_for_connection(4)
    fourth_hello = server.wait_for_frame(
        lambda frame: frame["type"] == "hello" and frame["token"] is None
    )
    assert fourth_hello == {"type": "hello", "token": None, "last_seq": 0}
    expect(page.locator('[data-testid="chat-message"]:not([data-seq=""])')).to_have_count(0)
