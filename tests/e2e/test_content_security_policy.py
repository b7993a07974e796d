"""Every page works in Chromium under the platform's Content-Security-Policy, and the widget works
on a company's page whose own policy allows nothing inline.

The browser reports each blocked script, style, image or connection both as a
`securitypolicyviolation` event and as a console message; both are collected, and a page passes
only when neither holds anything.
"""

import json
import re
import tempfile
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Response, expect

from tests.live_server import (
    REPO_ROOT,
    free_port,
    manage,
    migrate,
    running_server,
    server_environment,
)
from tests.staff_sign_in import unused_code

pytestmark = pytest.mark.e2e

UI_TIMEOUT_MS = 20_000
BOT_REPLY_TIMEOUT_MS = 90_000
VENDORED_CYTOSCAPE = REPO_ROOT / "knowledge/static/knowledge/vendor/cytoscape.min.js"
ADMIN = ("ada", "ada-runs-the-platform")

GRAPH = {
    "format": "knowledge-graph",
    "version": 1,
    "nodes": [
        {
            "key": "topic:card_arrival",
            "type": "topic",
            "label": "Card arrival",
            "aliases": [],
            "attributes": {"intent": "card_arrival"},
            "answers": ["Cards arrive within {process:card_delivery.standard_days} working days."],
        },
        {
            "key": "process:card_delivery",
            "type": "process",
            "label": "Card delivery",
            "aliases": [],
            "attributes": {"standard_days": 5},
            "answers": [],
        },
    ],
    "links": [
        {
            "source": "topic:card_arrival",
            "type": "concerns",
            "target": "process:card_delivery",
            "attributes": {},
        }
    ],
}

# The administrator's authenticator app holds this key; the tests compute its codes.
ADMIN_TOTP_KEY = "3132333435363738393031323334353637383930"
CREATE_ADMIN = f"""
from tests.staff_sign_in import add_admin_with_second_factor
add_admin_with_second_factor({ADMIN[0]!r}, {ADMIN[1]!r}, {ADMIN_TOTP_KEY!r})
"""

RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(
    `${event.effectiveDirective} blocked ${event.blockedURI || "inline code"} ` +
    `(${event.sourceFile}:${event.lineNumber})`);
});
"""

# Any canvas layer of the drawing holds at least one painted pixel.
DRAWING_IS_PAINTED = """
() => Array.from(document.querySelectorAll("#drawing canvas")).some((canvas) => {
  if (!canvas.width || !canvas.height) {
    return false;
  }
  const pixels = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
  for (let alpha = 3; alpha < pixels.length; alpha += 4) {
    if (pixels[alpha] !== 0) {
      return true;
    }
  }
  return false;
})
"""


class HostPageHandler(BaseHTTPRequestHandler):
    """Answer every GET with the company's page and its policy, set by the test."""

    def do_GET(self) -> None:
        body = self.server.page.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Security-Policy", self.server.policy)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *arguments) -> None:
        pass


@pytest.fixture(scope="module")
def host_site() -> Iterator[ThreadingHTTPServer]:
    """Serve a company's site on an origin of its own (a port on this machine, as Chromium
    refuses a public page's requests to a loopback server)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), HostPageHandler)
    server.origin = f"http://127.0.0.1:{server.server_address[1]}"
    server.page, server.policy = "", "default-src 'none'"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def policy_server(host_site) -> Iterator[str]:
    """Serve a fresh database with a two-node graph and an administrator; the host site's page
    may embed its widget."""
    if not VENDORED_CYTOSCAPE.exists():
        pytest.fail(
            f"{VENDORED_CYTOSCAPE.relative_to(REPO_ROOT)} is missing: run "
            "knowledge/frontend/vendor.sh (`make test` runs it)"
        )
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory(prefix="csp-e2e-") as temporary:
        directory = Path(temporary)
        environment = server_environment(
            f"sqlite:///{directory / 'e2e.sqlite3'}",
            f"{base_url},{host_site.origin}",
            directory,
        )
        migrate(environment)
        graph_path = directory / "graph.json"
        graph_path.write_text(json.dumps(GRAPH))
        manage(environment, "import_knowledge", str(graph_path))
        manage(environment, "shell", "-c", CREATE_ADMIN)
        with running_server(environment, port) as url:
            yield url


@pytest.fixture
def context(chromium_browser: Browser) -> Iterator[BrowserContext]:
    """Give each test a fresh browser profile that records policy violations on every page."""
    context = chromium_browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(UI_TIMEOUT_MS)
    context.add_init_script(RECORD_VIOLATIONS)
    yield context
    context.close()


class WatchedPage:
    """A page with the policy messages its console printed, across navigations."""

    def __init__(self, context: BrowserContext):
        self.page = context.new_page()
        self.console_reports: list[str] = []
        self.page.on("console", self._record)

    def _record(self, message) -> None:
        if "Content Security Policy" in message.text or "Content-Security-Policy" in message.text:
            self.console_reports.append(message.text)

    def violations(self) -> list[str]:
        """Return what the current document and the console reported so far."""
        return self.page.evaluate("window.__cspViolations") + self.console_reports


def assert_policy_sent(response: Response | None) -> None:
    assert response is not None
    policy = response.header_value("content-security-policy") or ""
    assert "script-src 'self';" in policy
    assert "object-src 'none';" in policy


def log_in_as_admin(watched: WatchedPage, base_url: str) -> None:
    page = watched.page
    assert_policy_sent(page.goto(base_url + "/accounts/login/?next=/admin/"))
    page.get_by_label("Username").fill(ADMIN[0])
    page.get_by_label("Password").fill(ADMIN[1])
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(base_url + "/accounts/login/code/")
    page.get_by_label("Code").fill(unused_code(ADMIN_TOTP_KEY))
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(base_url + "/admin/")


def wait_for_a_bot_reply(page: Page) -> None:
    """Send a message in the open widget and wait for the bot's committed answer to it."""
    page.get_by_test_id("chat-input").fill("Where is my new card?")
    page.get_by_test_id("chat-input").press("Enter")
    mine = page.locator('[data-testid="chat-message"][data-author="visitor"]').last
    expect(mine).to_have_attribute("data-seq", re.compile(r"^\d+$"))
    page.wait_for_function(
        """(seq) => Array.from(document.querySelectorAll('[data-testid="chat-message"]')).some(
             (bubble) => bubble.dataset.author === "bot" && bubble.dataset.seq !== "" &&
               Number(bubble.dataset.seq) > seq && bubble.textContent.trim() !== "")""",
        arg=int(mine.get_attribute("data-seq")),
        timeout=BOT_REPLY_TIMEOUT_MS,
    )


def test_the_demo_page_opens_the_widget_from_its_button_and_gets_a_bot_reply(
    context, policy_server
):
    # Given the demo page under the platform's policy
    watched = WatchedPage(context)
    page = watched.page
    assert_policy_sent(page.goto(policy_server + "/"))

    # When the visitor opens the chat with the page's own button and asks something
    page.get_by_role("button", name="Chat with us").click()
    expect(page.get_by_test_id("chat-panel")).to_be_visible()
    wait_for_a_bot_reply(page)

    # Then the widget was styled from its stylesheet, and nothing was blocked
    expect(page.get_by_test_id("chat-launcher")).to_have_css("border-radius", "50%")
    assert watched.violations() == []


def test_the_editor_draws_the_graph_under_the_policy(context, policy_server):
    # Given an administrator logged in through the login page
    watched = WatchedPage(context)
    page = watched.page
    log_in_as_admin(watched, policy_server)

    # When they open a node in the editor
    assert_policy_sent(page.goto(policy_server + "/knowledge/#node/topic:card_arrival"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Card arrival")

    # Then its neighbourhood is drawn, and nothing was blocked
    expect(page.locator("#drawing")).to_have_attribute("data-node-count", "2")
    page.wait_for_function(DRAWING_IS_PAINTED)
    assert watched.violations() == []


def test_the_console_connects_and_its_report_draws_under_the_policy(context, policy_server):
    # Given an administrator, who is an agent too
    watched = WatchedPage(context)
    page = watched.page
    log_in_as_admin(watched, policy_server)

    # When they open the console, then it connects over its websocket with nothing blocked
    assert_policy_sent(page.goto(policy_server + "/console/"))
    expect(page.get_by_test_id("connection-status")).to_have_attribute("data-state", "open")
    assert watched.violations() == []

    # When they open the report, then its charts are drawn with nothing blocked
    assert_policy_sent(page.goto(policy_server + "/console/report/"))
    expect(page.get_by_test_id("report-status")).to_contain_text("Updated at")
    expect(page.get_by_test_id("chart-reasons")).to_be_visible()
    assert watched.violations() == []


def test_the_admin_works_under_the_policy(context, policy_server):
    # Given an administrator logged in through the login page, on the admin's index
    watched = WatchedPage(context)
    page = watched.page
    log_in_as_admin(watched, policy_server)
    expect(page.get_by_role("heading", name="Site administration")).to_be_visible()
    assert watched.violations() == []

    # When they open a list and a change form
    assert_policy_sent(page.goto(policy_server + "/admin/auth/user/"))
    page.get_by_role("link", name=ADMIN[0], exact=True).click()
    expect(page.get_by_label("Username")).to_have_value(ADMIN[0])

    # Then nothing was blocked
    assert watched.violations() == []


def test_the_widget_works_on_a_host_page_whose_policy_allows_no_inline_code(
    context, policy_server, host_site
):
    # Given a company's page on another origin whose policy names only the chat host, with no
    # 'unsafe-inline' anywhere
    socket_origin = policy_server.replace("http://", "ws://")
    host_site.policy = (
        f"default-src 'self'; script-src 'self' {policy_server}; "
        f"style-src 'self' {policy_server}; connect-src 'self' {socket_origin}; "
        "img-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
    )
    host_site.page = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Shop</title></head>'
        "<body><h1>Example shop</h1>"
        f'<script src="{policy_server}/static/chatbot/widget.js" data-server="{policy_server}"'
        ' data-title="Shop support" data-color="#7a1f5c" defer></script></body></html>'
    )
    watched = WatchedPage(context)
    page = watched.page
    response = page.goto(host_site.origin + "/")
    assert response.header_value("content-security-policy") == host_site.policy

    # When the visitor opens the widget and asks something
    page.get_by_test_id("chat-launcher").click()
    expect(page.get_by_test_id("chat-panel")).to_be_visible()
    wait_for_a_bot_reply(page)

    # Then the widget took its stylesheet and the page's colour, and nothing was blocked
    launcher = page.get_by_test_id("chat-launcher")
    expect(launcher).to_have_css("border-radius", "50%")
    expect(launcher).to_have_css("background-color", "rgb(122, 31, 92)")
    assert watched.violations() == []
