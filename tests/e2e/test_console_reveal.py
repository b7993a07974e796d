"""The console under PERSONAL_DATA_STORAGE=encrypt, in Chromium: an agent sees a visitor's card
number masked; one whose role allows it reveals the original on request."""

import re
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from playwright.sync_api import Browser, expect

from tests.e2e.test_handoff_flow import log_in
from tests.live_server import free_port, manage, migrate, running_server, server_environment
from tests.staff_sign_in import unused_code

pytestmark = pytest.mark.e2e

UI_TIMEOUT_MS = 20_000
ADMIN = ("ada", "ada-reads-originals")
# Ada's authenticator app holds this key; the test computes her code.
ADMIN_TOTP_KEY = "6164612d6164612d6164612d6164612d61646121"
TYPED = "my card 4111 1111 1111 1111 was charged twice"
MASKED = "my card [card number ending 1111] was charged twice"
CREATE_ADMIN = f"""
from handoff.models import Agent
from tests.staff_sign_in import add_admin_with_second_factor
add_admin_with_second_factor({ADMIN[0]!r}, {ADMIN[1]!r}, {ADMIN_TOTP_KEY!r})
Agent.objects.filter(user__username={ADMIN[0]!r}).update(display_name="Ada")
"""


@pytest.fixture(scope="module")
def encrypting_server() -> Iterator[str]:
    """A server that keeps originals encrypted, with an admin who works the console."""
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="reveal-e2e-") as temporary:
        directory = Path(temporary)
        environment = server_environment(
            f"sqlite:///{directory / 'e2e.sqlite3'}", f"http://127.0.0.1:{port}", directory
        )
        environment["PERSONAL_DATA_STORAGE"] = "encrypt"
        environment["PERSONAL_DATA_KEYS"] = Fernet.generate_key().decode()
        migrate(environment)
        manage(environment, "shell", "-c", CREATE_ADMIN)
        with running_server(environment, port) as url:
            yield url


def test_an_admin_in_the_console_sees_the_card_masked_and_reveals_it_on_request(
    chromium_browser: Browser, encrypting_server
):
    agent_context = chromium_browser.new_context(viewport={"width": 1280, "height": 900})
    visitor_context = chromium_browser.new_context(viewport={"width": 1280, "height": 900})
    agent_context.set_default_timeout(UI_TIMEOUT_MS)
    visitor_context.set_default_timeout(UI_TIMEOUT_MS)
    try:
        # Given Ada online in the console, and a visitor who asked for a person
        console = agent_context.new_page()
        log_in(console, encrypting_server, ADMIN, "/console/")
        console.get_by_label("Code").fill(unused_code(ADMIN_TOTP_KEY))
        console.get_by_role("button", name="Sign in").click()
        console.get_by_test_id("availability-toggle").click()
        expect(console.get_by_test_id("connection-status")).not_to_have_text(
            re.compile("offline|disconnected", re.I)
        )
        visitor = visitor_context.new_page()
        visitor.goto(encrypting_server + "/")
        visitor.get_by_test_id("chat-launcher").click()
        visitor.get_by_test_id("chat-handoff-request").click()
        expect(visitor.get_by_test_id("chat-handoff-status")).to_contain_text(
            "Connecting you to an agent"
        )

        # When the visitor types a card number and Ada takes the conversation
        visitor.get_by_test_id("chat-input").fill(TYPED)
        visitor.get_by_test_id("chat-send").click()
        expect(visitor.get_by_test_id("chat-masked-notice")).to_be_visible()
        console.get_by_test_id("queue-item").first.get_by_test_id("accept").click()
        chat = console.get_by_test_id("transcript")

        # Then she sees it masked, with what was hidden and a Reveal button
        expect(chat).to_contain_text(MASKED)
        expect(chat).to_contain_text("Hidden: card number")
        assert "4111 1111" not in chat.inner_text()

        # And on request she reads the original
        chat.get_by_test_id("agent-reveal").click()
        expect(console.get_by_test_id("agent-message-original")).to_have_text(TYPED)
        expect(chat).to_contain_text("your reading was recorded")
    finally:
        agent_context.close()
        visitor_context.close()
