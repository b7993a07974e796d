"""The widget's page API and identified customers, in Chromium, on a company's own page.

The company's page is served from an origin of its own with a policy that allows no inline
code; its script (`/host.js`) stubs `window.ChatWidget` before `widget.js` has loaded, as the
README shows, and records every event the widget emits in `window.seen`. The chat server has
an identity secret; the tests sign identities with it as the company's backend would.
"""

import json
import re
import sqlite3
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from chatbot.identity import sign_identity
from tests.live_server import free_port, migrate, running_server, server_environment

pytestmark = pytest.mark.e2e

UI_TIMEOUT_MS = 15_000
BOT_REPLY_TIMEOUT_MS = 90_000
IDENTITY_SECRET = "the-company-website-signs-with-this"
REFUSAL_NOTICE = "We could not confirm your account, so you are chatting as a guest."

# The README's stub, then a recorder for every event the widget documents.
HOST_SCRIPT_START = """
window.ChatWidget = window.ChatWidget || { q: [] };
["open", "close", "identify", "logout", "send", "on", "off"].forEach(function (name) {
  ChatWidget[name] = ChatWidget[name] || function () {
    ChatWidget.q.push([name].concat(Array.prototype.slice.call(arguments)));
  };
});
window.seen = [];
window.recorders = {};
["ready", "connected", "open", "close", "message", "identified", "identity_refused",
 "handoff"].forEach(function (name) {
  recorders[name] = function (detail) { seen.push({ event: name, detail: detail }); };
  ChatWidget.on(name, recorders[name]);
});
"""

# Strict: the widget must work with nothing inline allowed anywhere.
HOST_POLICY = (
    "default-src 'self'; script-src 'self' {server}; style-src 'self' {server}; "
    "connect-src 'self' {socket}; img-src 'self'; object-src 'none'; base-uri 'none'"
)

RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(`${event.effectiveDirective} blocked ${event.blockedURI}`);
});
"""


class HostSiteHandler(BaseHTTPRequestHandler):
    """Serve the company's page at / and its script at /host.js, under its policy."""

    def do_GET(self) -> None:
        site = self.server
        if self.path == "/host.js":
            body, content_type = site.script, "text/javascript"
        else:
            body, content_type = site.page, "text/html"
        data = body.encode()
        self.send_response(200)
        self.send_header("Content-Type", f"{content_type}; charset=utf-8")
        self.send_header("Content-Security-Policy", site.policy)
        self.send_header("Cache-Control", "no-store")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *arguments) -> None:
        pass


@dataclass(frozen=True)
class ChatServer:
    url: str
    database: Path


@pytest.fixture(scope="module")
def host_site() -> Iterator[ThreadingHTTPServer]:
    """Serve a company's site on an origin of its own; each test sets its script."""
    site = ThreadingHTTPServer(("127.0.0.1", 0), HostSiteHandler)
    site.origin = f"http://127.0.0.1:{site.server_address[1]}"
    site.page, site.script, site.policy = "", "", "default-src 'none'"
    thread = threading.Thread(target=site.serve_forever, daemon=True)
    thread.start()
    yield site
    site.shutdown()
    site.server_close()


@pytest.fixture(scope="module")
def chat_server(host_site) -> Iterator[ChatServer]:
    """Serve a fresh database with an identity secret; the host site may embed the widget."""
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory(prefix="identity-e2e-") as temporary:
        directory = Path(temporary)
        database = directory / "e2e.sqlite3"
        environment = server_environment(
            f"sqlite:///{database}", f"{base_url},{host_site.origin}", directory
        )
        environment.pop("CHAT_IDENTITY_SECRET_FILE", None)
        environment["CHAT_IDENTITY_SECRET"] = IDENTITY_SECRET
        migrate(environment)
        with running_server(environment, port) as url:
            socket_url = url.replace("http://", "ws://")
            host_site.policy = HOST_POLICY.format(server=url, socket=socket_url)
            host_site.page = (
                '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Shop</title>'
                '<script src="/host.js"></script></head><body><h1>Example shop</h1>'
                f'<script src="{url}/static/chatbot/widget.js" data-server="{url}"'
                ' data-title="Shop support" defer></script></body></html>'
            )
            yield ChatServer(url, database)


@pytest.fixture
def context(chromium_browser: Browser) -> Iterator[BrowserContext]:
    """Give each test a fresh browser profile: no token, no history."""
    context = new_context(chromium_browser)
    yield context
    context.close()


def new_context(browser: Browser) -> BrowserContext:
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    context.set_default_timeout(UI_TIMEOUT_MS)
    context.add_init_script(RECORD_VIOLATIONS)
    return context


def signed_identity(user_id: str, name: str, email: str, secret: str = IDENTITY_SECRET) -> dict:
    """Return an identity signed now, as the company's backend hands it to its page."""
    issued_at = int(time.time())
    return {
        "user_id": user_id,
        "name": name,
        "email": email,
        "issued_at": issued_at,
        "signature": sign_identity(secret, user_id, name, email, issued_at),
    }


def host_script(page_code: str, config_identity: dict | None = None) -> str:
    """Return the host page's script: its widget config, the stub and recorder, then its code."""
    config = f"window.ChatWidgetConfig = {json.dumps({'identity': config_identity})};\n"
    return (config if config_identity else "") + HOST_SCRIPT_START + page_code


@dataclass
class HostPage:
    page: Page
    hellos: list[dict]


def open_host_page(context: BrowserContext, host_site, script: str) -> HostPage:
    """Open the company's page with this script; record the hellos the widget sends."""
    host_site.script = script
    page = context.new_page()
    hellos: list[dict] = []

    def watch(socket) -> None:
        def record(payload) -> None:
            frame = json.loads(payload)
            if frame.get("type") == "hello":
                hellos.append(frame)

        socket.on("framesent", record)

    page.on("websocket", watch)
    page.goto(host_site.origin + "/")
    expect(page.get_by_test_id("chat-launcher")).to_be_visible()
    return HostPage(page, hellos)


def seen(page: Page, event: str) -> list:
    """Return the details of the widget's events of one name, oldest first."""
    return page.evaluate(
        "(name) => seen.filter((entry) => entry.event === name).map((entry) => entry.detail)",
        event,
    )


def wait_for_event(page: Page, event: str, count: int = 1, timeout: int = UI_TIMEOUT_MS) -> list:
    """Wait until the widget emitted `event` at least `count` times; return their details."""
    page.wait_for_function(
        "([name, count]) => seen.filter((entry) => entry.event === name).length >= count",
        arg=[event, count],
        timeout=timeout,
    )
    return seen(page, event)


def wait_for_bot_message_after(page: Page, seq: int) -> dict:
    """Wait for the widget's `message` event of a bot answer after seq; return it."""
    page.wait_for_function(
        """(seq) => seen.some((entry) => entry.event === "message" &&
             entry.detail.author === "bot" && entry.detail.seq > seq)""",
        arg=seq,
        timeout=BOT_REPLY_TIMEOUT_MS,
    )
    return next(m for m in seen(page, "message") if m["author"] == "bot" and m["seq"] > seq)


def type_and_send(page: Page, text: str) -> int:
    """Type a message, press Enter, and return its seq once the server acknowledged it."""
    page.get_by_test_id("chat-input").fill(text)
    page.get_by_test_id("chat-input").press("Enter")
    bubble = page.locator('[data-testid="chat-message"][data-author="visitor"]').last
    expect(bubble).to_have_attribute("data-status", "delivered")
    expect(bubble).to_have_attribute("data-seq", re.compile(r"^\d+$"))
    return int(bubble.get_attribute("data-seq"))


def stored_token(page: Page, server: ChatServer) -> str | None:
    return page.evaluate(f"localStorage.getItem({json.dumps(f'chat-widget:{server.url}:token')})")


def query(server: ChatServer, sql: str, *parameters) -> list[tuple]:
    """Read the chat server's database (read-only: the server is its only writer)."""
    with sqlite3.connect(f"file:{server.database}?mode=ro", uri=True) as connection:
        return connection.execute(sql, parameters).fetchall()


def owner_of(server: ChatServer, conversation_id: str) -> tuple:
    """Return (external_id, name, email) of the visitor a conversation belongs to."""
    (row,) = query(
        server,
        "SELECT visitor.external_id, visitor.name, visitor.email FROM chatbot_conversation"
        " AS conversation JOIN chatbot_visitor AS visitor ON visitor.id = conversation.visitor_id"
        " WHERE conversation.id = ?",
        uuid.UUID(conversation_id).hex,
    )
    return row


def violations(page: Page) -> list[str]:
    return page.evaluate("window.__cspViolations")


def test_a_guests_conversation_becomes_the_customers_and_follows_them_to_another_browser(
    context, chromium_browser, chat_server, host_site
):
    # Given a guest on the company's page who has asked something
    host = open_host_page(context, host_site, host_script("ChatWidget.open();"))
    page = host.page
    question = "How do I order a new debit card?"
    question_seq = type_and_send(page, question)
    wait_for_bot_message_after(page, question_seq)
    (guest,) = seen(page, "connected")
    assert guest["identity"] is None
    assert owner_of(chat_server, guest["conversation_id"]) == (None, "", "")
    guest_token = stored_token(page, chat_server)

    # When the customer logs in and the page identifies them
    identity = signed_identity("customer-ada", "Ada Lovelace", "ada@example.com")
    page.evaluate("(identity) => ChatWidget.identify(identity)", identity)

    # Then the widget says hello again with the identity and the guest's token, and the server
    # confirms the customer
    assert wait_for_event(page, "identified") == [
        {"user_id": "customer-ada", "name": "Ada Lovelace"}
    ]
    connected = wait_for_event(page, "connected", 2)[-1]
    assert host.hellos[-1] == {
        "type": "hello",
        "token": guest_token,
        "last_seq": 0,
        "identity": identity,
    }

    # And the same conversation is now the customer's, with its history shown again
    assert connected == {
        "conversation_id": guest["conversation_id"],
        "identity": {"user_id": "customer-ada", "name": "Ada Lovelace"},
    }
    assert owner_of(chat_server, guest["conversation_id"]) == (
        "customer-ada",
        "Ada Lovelace",
        "ada@example.com",
    )
    question_bubble = page.locator(f'[data-testid="chat-message"][data-seq="{question_seq}"]')
    expect(question_bubble).to_have_text(question)
    assert stored_token(page, chat_server) not in (None, guest_token)

    # When the customer opens the company's page in another browser, which passes the
    # identity at load
    other_browser = new_context(chromium_browser)
    try:
        elsewhere = open_host_page(
            other_browser, host_site, host_script("ChatWidget.open();", config_identity=identity)
        ).page

        # Then the first hello already names them, and their conversation is replayed there
        (connected_elsewhere,) = wait_for_event(elsewhere, "connected")
        assert connected_elsewhere["conversation_id"] == guest["conversation_id"]
        bubble = elsewhere.locator(f'[data-testid="chat-message"][data-seq="{question_seq}"]')
        expect(bubble).to_have_text(question)
        replayed = [m for m in seen(elsewhere, "message") if m["seq"] == question_seq]
        assert [(m["author"], m["text"], m["replayed"]) for m in replayed] == [
            ("visitor", question, True)
        ]
        assert violations(elsewhere) == []
    finally:
        other_browser.close()
    assert violations(page) == []


def test_a_forged_identity_is_refused_once_and_the_visitor_goes_on_as_a_guest(
    context, chat_server, host_site
):
    # Given a page that passes an identity signed with the wrong secret
    forged = signed_identity("customer-mallory", "Mallory", "m@example.com", secret="guessed")
    script = host_script("ChatWidget.open();", config_identity=forged)

    # When the widget starts
    host = open_host_page(context, host_site, script)
    page = host.page

    # Then the page hears the refusal and the visitor reads a short notice
    (refusal,) = wait_for_event(page, "identity_refused")
    assert refusal["code"] == "invalid_identity"
    assert "signature does not match" in refusal["message"]
    expect(page.get_by_test_id("chat-notice")).to_have_text(REFUSAL_NOTICE)

    # And the widget comes back once, without the identity, as a guest who can chat
    (connected,) = wait_for_event(page, "connected")
    assert connected["identity"] is None
    type_and_send(page, "Where is my new card?")
    assert [hello.get("identity") for hello in host.hellos] == [forged, None]
    assert host.hellos[1] == {"type": "hello", "token": None, "last_seq": 0}
    assert seen(page, "identified") == []

    # And nothing was stored for the forged customer
    forged_visitors = query(
        chat_server, "SELECT id FROM chatbot_visitor WHERE external_id = ?", "customer-mallory"
    )
    assert forged_visitors == []
    assert owner_of(chat_server, connected["conversation_id"]) == (None, "", "")
    assert violations(page) == []


def test_calls_made_before_the_widget_started_run_and_handlers_hear_its_events(
    context, chat_server, host_site
):
    # Given a page that opens the chat, sends a question and listens, all before widget.js ran
    question = "What is the interest rate on easy access savings?"
    script = host_script(f"ChatWidget.open();\nChatWidget.send({json.dumps(question)});\n")

    # When the page loads
    host = open_host_page(context, host_site, script)
    page = host.page

    # Then the widget started, opened, and sent the question, acknowledged, then answered
    assert wait_for_event(page, "ready") == [{}]
    assert seen(page, "open") == [{}]
    expect(page.get_by_test_id("chat-panel")).to_be_visible()
    bubble = page.locator('[data-testid="chat-message"][data-author="visitor"]')
    expect(bubble).to_have_text(question)
    expect(bubble).to_have_attribute("data-status", "delivered")
    asked = wait_for_event(page, "message")[0]
    assert asked["author"] == "visitor" and asked["text"] == question
    assert asked["seq"] == int(bubble.get_attribute("data-seq"))
    assert re.fullmatch(r"[0-9a-f-]{36}", asked["client_id"])
    assert wait_for_bot_message_after(page, asked["seq"])["text"].strip()
    assert wait_for_event(page, "handoff")[0] == {
        "status": "bot",
        "position": None,
        "estimated_wait_seconds": None,
        "agent_name": None,
    }

    # When the page sends another message through the API once started
    follow_up = "And for the fixed rate bond?"
    client_id = page.evaluate("(text) => ChatWidget.send(text)", follow_up)

    # Then it goes the typed way: shown, acknowledged under its client_id, then answered
    page.wait_for_function(
        """(clientId) => seen.some((entry) => entry.event === "message" &&
             entry.detail.client_id === clientId)""",
        arg=client_id,
    )
    (sent,) = [m for m in seen(page, "message") if m["client_id"] == client_id]
    assert (sent["author"], sent["text"], sent["replayed"]) == ("visitor", follow_up, False)
    expect(page.locator(f'[data-seq="{sent["seq"]}"]')).to_have_text(follow_up)
    wait_for_bot_message_after(page, sent["seq"])
    seqs = [m["seq"] for m in seen(page, "message")]
    assert seqs == sorted(set(seqs))  # each message once, in order

    # When the recorder stops listening and another handler starts
    recorded_before = len(seen(page, "message"))
    page.evaluate(
        """() => {
          window.later = [];
          ChatWidget.off("message", recorders.message);
          ChatWidget.on("message", (detail) => later.push(detail));
        }"""
    )
    third = page.evaluate("(text) => ChatWidget.send(text)", "Thanks, bye")

    # Then only the new handler hears the next messages
    page.wait_for_function(
        """(clientId) => {
          const mine = later.find((detail) => detail.client_id === clientId);
          return mine && later.some((detail) => detail.author === "bot" && detail.seq > mine.seq);
        }""",
        arg=third,
        timeout=BOT_REPLY_TIMEOUT_MS,
    )
    assert len(seen(page, "message")) == recorded_before
    # And send() refuses what the composer would refuse
    assert page.evaluate("() => ChatWidget.send('   ')") is None

    # When the page closes the panel, then it closes and the page hears it
    page.evaluate("() => ChatWidget.close()")
    expect(page.get_by_test_id("chat-panel")).to_be_hidden()
    assert seen(page, "close") == [{}]
    assert violations(page) == []


def test_logout_forgets_the_customer_and_their_token_and_starts_a_new_conversation(
    context, chat_server, host_site
):
    # Given a customer identified at load who has sent a message
    identity = signed_identity("customer-grace", "Grace Hopper", "grace@example.com")
    script = host_script("ChatWidget.open();", config_identity=identity)
    host = open_host_page(context, host_site, script)
    page = host.page
    wait_for_event(page, "identified")
    type_and_send(page, "Can I use my card abroad?")
    (customer,) = seen(page, "connected")
    customer_token = stored_token(page, chat_server)

    # When the page logs them out
    page.evaluate("() => ChatWidget.logout()")

    # Then the widget says hello with neither token nor identity, and a new guest conversation
    # starts, with nothing of the customer's shown
    after_logout = wait_for_event(page, "connected", 2)[-1]
    assert host.hellos[-1] == {"type": "hello", "token": None, "last_seq": 0}
    assert after_logout["identity"] is None
    assert after_logout["conversation_id"] != customer["conversation_id"]
    expect(page.locator('[data-testid="chat-message"][data-author="visitor"]')).to_have_count(0)
    guest_token = stored_token(page, chat_server)
    assert guest_token not in (None, customer_token)
    assert owner_of(chat_server, after_logout["conversation_id"]) == (None, "", "")
    assert owner_of(chat_server, customer["conversation_id"])[0] == "customer-grace"

    # When the page is loaded again without an identity
    host_site.script = host_script("ChatWidget.open();")
    page.reload()

    # Then the browser is the new guest, not the customer
    (connected,) = wait_for_event(page, "connected")
    assert connected == {"conversation_id": after_logout["conversation_id"], "identity": None}
    assert seen(page, "identified") == []
    assert violations(page) == []


def test_a_logout_in_one_tab_ends_the_customers_conversation_in_the_others(
    context, chat_server, host_site
):
    # Given a customer with the company's page in two tabs, both showing their conversation
    identity = signed_identity("customer-barbara", "Barbara Liskov", "barbara@example.com")
    script = host_script("ChatWidget.open();", config_identity=identity)
    first_tab = open_host_page(context, host_site, script).page
    wait_for_event(first_tab, "identified")
    second_tab = open_host_page(context, host_site, script).page
    (customer,) = wait_for_event(second_tab, "connected")
    assert customer["identity"] == {"user_id": "customer-barbara", "name": "Barbara Liskov"}
    asked = type_and_send(first_tab, "What is my card limit?")
    expect(second_tab.locator(f'[data-testid="chat-message"][data-seq="{asked}"]')).to_be_visible()

    # When the page logs them out in the first tab
    first_tab.evaluate("() => ChatWidget.logout()")

    # Then the second tab forgets them too: a guest, with nothing of theirs shown
    after_logout = wait_for_event(second_tab, "connected", 2)[-1]
    assert after_logout["identity"] is None
    assert after_logout["conversation_id"] != customer["conversation_id"]
    visitor_bubbles = second_tab.locator('[data-testid="chat-message"][data-author="visitor"]')
    expect(visitor_bubbles).to_have_count(0)


def test_a_refused_identity_beside_another_customers_token_starts_a_new_guest_conversation(
    context, chat_server, host_site
):
    # Given a shared computer where a customer chatted and the page never logged them out
    first = signed_identity("customer-alan", "Alan Turing", "alan@example.com")
    host = open_host_page(context, host_site, host_script("ChatWidget.open();", first))
    page = host.page
    wait_for_event(page, "identified")
    type_and_send(page, "Can I raise my overdraft?")
    (theirs,) = seen(page, "connected")
    their_token = stored_token(page, chat_server)

    # When the next user's page passes an identity the server refuses
    stale = signed_identity("customer-joan", "Joan Clarke", "joan@example.com", secret="old")
    host_site.script = host_script("ChatWidget.open();", config_identity=stale)
    page.reload()

    # Then the widget does not go on with the other customer's token: a new guest conversation
    wait_for_event(page, "identity_refused")
    connected = wait_for_event(page, "connected")[-1]
    assert connected["identity"] is None
    assert connected["conversation_id"] != theirs["conversation_id"]
    assert owner_of(chat_server, connected["conversation_id"]) == (None, "", "")
    assert seen(page, "identified") == []
    assert host.hellos[-1] == {"type": "hello", "token": None, "last_seq": 0}
    assert stored_token(page, chat_server) not in (None, their_token)
    visitor_bubbles = page.locator('[data-testid="chat-message"][data-author="visitor"]')
    expect(visitor_bubbles).to_have_count(0)
