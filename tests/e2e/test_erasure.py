"""An administrator erases a visitor in the admin while an agent chats with them: the page works
under the site's policy, the agent's console drops the conversation, the widget starts anew."""

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, expect

from tests.e2e.test_content_security_policy import RECORD_VIOLATIONS, WatchedPage
from tests.e2e.test_handoff_flow import log_in
from tests.live_server import seeded_server
from tests.staff_sign_in import unused_code

pytestmark = pytest.mark.e2e

UI_TIMEOUT_MS = 20_000
AGENT = ("anna", "anna-takes-chats")
ADMIN = ("olga", "olga-runs-the-bank")
# Olga's authenticator app holds this key; the test computes her code.
ADMIN_TOTP_KEY = "6f6c67612d6f6c67612d6f6c67612d6f6c6761"
CREATE_USERS = f"""
from chatbot.staff_users import add_staff_user
from handoff.models import Agent
from tests.staff_sign_in import add_admin_with_second_factor
add_staff_user({AGENT[0]!r}, {AGENT[1]!r}, "agent")
add_admin_with_second_factor({ADMIN[0]!r}, {ADMIN[1]!r}, {ADMIN_TOTP_KEY!r})
Agent.objects.filter(user__username={AGENT[0]!r}).update(display_name="Anna")
"""
# Words of the visitor's that nothing else says (and no personal data, which would be masked).
SECRET = "My parcel with the blue lantern never came, please check it"


@pytest.fixture(scope="module")
def desk_server() -> Iterator[str]:
    with seeded_server("erasure-e2e-", CREATE_USERS) as url:
        yield url


def test_erasing_a_visitor_in_the_admin_clears_the_console_and_the_widget(
    chromium_browser: Browser, desk_server
):
    contexts = [
        chromium_browser.new_context(viewport={"width": 1280, "height": 900}) for _ in range(3)
    ]
    agent_context, visitor_context, admin_context = contexts
    for context in contexts:
        context.set_default_timeout(UI_TIMEOUT_MS)
    admin_context.add_init_script(RECORD_VIOLATIONS)
    try:
        console = agent_context.new_page()
        log_in(console, desk_server, AGENT, "/console/")
        console.get_by_test_id("availability-toggle").click()
        expect(console.get_by_test_id("connection-status")).not_to_have_text(
            re.compile("offline|disconnected", re.I)
        )
        visitor = visitor_context.new_page()
        visitor.goto(desk_server + "/")
        visitor.get_by_test_id("chat-launcher").click()
        visitor.get_by_test_id("chat-handoff-request").click()
        visitor.get_by_test_id("chat-input").fill(SECRET)
        visitor.get_by_test_id("chat-send").click()
        console.get_by_test_id("queue-item").first.get_by_test_id("accept").click()
        expect(console.get_by_test_id("transcript")).to_contain_text(SECRET)
        expect(console.get_by_test_id("conversation-count")).to_have_text("1/3")

        watched = WatchedPage(admin_context)
        admin = watched.page
        admin.goto(desk_server + "/accounts/login/?next=/admin/chatbot/visitor/")
        admin.get_by_label("Username").fill(ADMIN[0])
        admin.get_by_label("Password").fill(ADMIN[1])
        admin.get_by_role("button", name="Log in").click()
        admin.get_by_label("Code").fill(unused_code(ADMIN_TOTP_KEY))
        admin.get_by_role("button", name="Sign in").click()
        expect(admin).to_have_url(desk_server + "/admin/chatbot/visitor/")
        admin.locator("input.action-select").first.check()
        admin.locator("select[name=action]").select_option("erase_data")
        admin.get_by_role("button", name="Go").click()
        expect(admin.locator("h1")).to_have_text("Erase these people's data?")
        admin.get_by_role("button", name="Yes, erase their data").click()

        expect(admin.locator(".messagelist")).to_contain_text("Erased the data of 1 visitor(s)")
        assert watched.violations() == []
        # The agent's console drops the conversation, transcript and all, and says why.
        expect(console.get_by_test_id("flash")).to_contain_text("its data was erased")
        expect(console.get_by_test_id("conversation-count")).to_have_text("0/3")
        expect(console.get_by_test_id("transcript")).not_to_contain_text(SECRET)
        assert SECRET not in console.content()  # nor anywhere in the page, hidden or not
        # The widget forgets the conversation and starts a new one.
        expect(visitor.get_by_test_id("chat-notice")).to_contain_text("A new conversation")
        expect(visitor.get_by_test_id("chat-message-list")).not_to_contain_text(SECRET)
    finally:
        for context in contexts:
            context.close()
