"""A visitor and an agent in two browser contexts: escalate, accept, talk both ways, hand back.

The server gets its own database; the agent and a plain user are created with the management
commands an operator would use.
"""

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.live_server import seeded_server

pytestmark = pytest.mark.e2e

UI_TIMEOUT_MS = 20_000
AGENT = ("anna", "anna-takes-chats")
PLAIN_USER = ("paul", "paul-is-no-agent")
CREATE_USERS = f"""
from django.contrib.auth import get_user_model
from chatbot.staff_users import add_staff_user
from handoff.models import Agent
add_staff_user({AGENT[0]!r}, {AGENT[1]!r}, "agent")
Agent.objects.filter(user__username={AGENT[0]!r}).update(display_name="Anna")
get_user_model().objects.create_user({PLAIN_USER[0]!r}, password={PLAIN_USER[1]!r})
"""


@pytest.fixture(scope="module")
def desk_server() -> Iterator[str]:
    """Serve a fresh database with an agent and a plain user."""
    with seeded_server("handoff-e2e-", CREATE_USERS) as url:
        yield url


def log_in(page: Page, base_url: str, credentials: tuple[str, str], next_path: str) -> None:
    page.goto(base_url + next_path)
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=" + re.escape(next_path) + "$"))
    page.get_by_label("Username").fill(credentials[0])
    page.get_by_label("Password").fill(credentials[1])
    page.get_by_role("button", name="Log in").click()


def bot_and_agent_messages(page: Page, author: str):
    return page.locator(f'[data-testid="chat-message"][data-author="{author}"]')


def test_escalation_to_an_agent_and_back_to_the_bot_loses_nothing(
    chromium_browser: Browser, desk_server
):
    agent_context = chromium_browser.new_context(viewport={"width": 1280, "height": 900})
    visitor_context = chromium_browser.new_context(viewport={"width": 1280, "height": 900})
    agent_context.set_default_timeout(UI_TIMEOUT_MS)
    visitor_context.set_default_timeout(UI_TIMEOUT_MS)
    try:
        console = agent_context.new_page()
        log_in(console, desk_server, AGENT, "/console/")
        expect(console).to_have_url(desk_server + "/console/")
        toggle = console.get_by_test_id("availability-toggle")
        toggle.click()
        expect(console.get_by_test_id("connection-status")).not_to_have_text(
            re.compile("offline|disconnected", re.I)
        )

        visitor = visitor_context.new_page()
        visitor.goto(desk_server + "/")
        visitor.get_by_test_id("chat-launcher").click()
        visitor.get_by_test_id("chat-handoff-request").click()
        expect(visitor.get_by_test_id("chat-handoff-status")).to_contain_text(
            "Connecting you to an agent"
        )
        visitor.get_by_test_id("chat-input").fill("My card was charged twice, please help")
        visitor.get_by_test_id("chat-send").click()

        item = console.get_by_test_id("queue-item").first
        expect(item).to_contain_text("Asked for a person")
        item.get_by_test_id("accept").click()
        expect(visitor.get_by_test_id("chat-handoff-status")).to_contain_text("Anna has joined")
        chat = console.get_by_test_id("transcript")
        expect(chat).to_contain_text("My card was charged twice, please help")

        console.get_by_test_id("agent-input").fill("Hello, I'm Anna. I can see the double charge.")
        console.get_by_test_id("send").click()
        expect(bot_and_agent_messages(visitor, "agent").last).to_have_text(
            "Hello, I'm Anna. I can see the double charge."
        )

        visitor.get_by_test_id("chat-input").fill("Thank you, it was 24.99 at a coffee shop")
        visitor.get_by_test_id("chat-send").click()
        expect(chat).to_contain_text("Thank you, it was 24.99 at a coffee shop")

        console.get_by_test_id("hand-back").click()
        expect(visitor.get_by_test_id("chat-handoff-status")).to_contain_text(
            "back with the virtual assistant"
        )
        visitor.get_by_test_id("chat-input").fill("thanks")
        visitor.get_by_test_id("chat-send").click()
        expect(bot_and_agent_messages(visitor, "bot").last).to_have_text(
            "You're welcome! Is there anything else I can help with?"
        )
        # Nothing lost, nothing doubled: every visitor line once, in order, on the visitor's screen.
        visitor_lines = bot_and_agent_messages(visitor, "visitor").all_inner_texts()
        assert visitor_lines == [
            "My card was charged twice, please help",
            "Thank you, it was 24.99 at a coffee shop",
            "thanks",
        ]
    finally:
        agent_context.close()
        visitor_context.close()


def test_the_console_refuses_visitors_and_users_without_the_agent_role(
    chromium_browser: Browser, desk_server
):
    context = chromium_browser.new_context()
    try:
        page = context.new_page()
        page.goto(desk_server + "/console/")
        expect(page).to_have_url(re.compile(r"/accounts/login/\?next=/console/$"))

        log_in(page, desk_server, PLAIN_USER, "/console/")
        response = page.goto(desk_server + "/console/")
        assert response.status == 403
        closed = page.evaluate(
            """() => new Promise(resolve => {
                const socket = new WebSocket(location.origin.replace('http', 'ws') + '/ws/agent/');
                socket.onopen = () => resolve('opened');
                socket.onclose = () => resolve('closed');
            })"""
        )
        assert closed == "closed"
        assert page.request.get(desk_server + "/console/api/report").status == 403
    finally:
        context.close()


def test_the_report_page_draws_its_charts_for_an_agent(chromium_browser: Browser, desk_server):
    context = chromium_browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(UI_TIMEOUT_MS)
    errors: list[str] = []
    try:
        page = context.new_page()
        page.on("pageerror", lambda error: errors.append(str(error)))
        log_in(page, desk_server, AGENT, "/console/report/")

        expect(page.get_by_test_id("report-status")).to_contain_text("Updated at")
        for chart in ("chart-reasons", "chart-intents", "chart-wait", "chart-dispositions"):
            expect(page.get_by_test_id(chart)).to_be_visible()
        expect(page.get_by_test_id("signed-in-user")).to_have_text("Anna")
        assert errors == []
    finally:
        context.close()
