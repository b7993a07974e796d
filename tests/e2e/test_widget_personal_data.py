"""A card number typed in the widget, in Chromium against a real server: the visitor's bubble
shows it masked, with a notice saying what was hidden, and so does the history after a reload."""

import re

import pytest
from playwright.sync_api import Browser, expect

pytestmark = pytest.mark.e2e

UI_TIMEOUT_MS = 15_000
TYPED = "my card 4111 1111 1111 1111 was charged twice"
MASKED = "my card [card number ending 1111] was charged twice"
NOTICE = "We hid your card number: never share it in chat."


@pytest.fixture
def page(chromium_browser: Browser, live_server_url: str):
    context = chromium_browser.new_context(viewport={"width": 1280, "height": 860})
    context.set_default_timeout(UI_TIMEOUT_MS)
    page = context.new_page()
    page.goto(live_server_url + "/")
    yield page
    context.close()


def test_a_typed_card_number_is_shown_masked_with_a_notice_and_stays_masked_after_a_reload(page):
    # Given the chat panel open
    page.get_by_test_id("chat-launcher").click()
    expect(page.get_by_test_id("chat-panel")).to_be_visible()

    # When the visitor types a card number
    page.get_by_test_id("chat-input").fill(TYPED)
    page.get_by_test_id("chat-input").press("Enter")

    # Then, once the server has stored it, their bubble shows it masked, with the notice
    bubble = page.locator('[data-testid="chat-message"][data-author="visitor"]').last
    expect(bubble).to_have_attribute("data-seq", re.compile(r"^\d+$"))
    expect(bubble).to_have_text(MASKED)
    expect(page.get_by_test_id("chat-masked-notice")).to_have_text(NOTICE)
    assert "4111 1111" not in page.locator('[data-testid="chat-panel"]').inner_text()

    # And after a reload the history holds the masked text only, with its notice
    page.reload()
    launcher = page.get_by_test_id("chat-launcher")
    if launcher.get_attribute("aria-expanded") != "true":
        launcher.click()
    replayed = page.locator('[data-testid="chat-message"][data-author="visitor"]').first
    expect(replayed).to_have_text(MASKED)
    expect(page.get_by_test_id("chat-masked-notice")).to_have_text(NOTICE)
    assert "4111 1111" not in page.locator('[data-testid="chat-panel"]').inner_text()
