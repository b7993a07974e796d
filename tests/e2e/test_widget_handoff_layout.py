"""Where the handoff controls sit in the widget, in Chromium, against a scripted chat socket.

The leave-a-message form is a small card under the conversation: the conversation above it stays
in view and scrolls. Positions are read from element boxes, never from screenshots.
"""

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.e2e.test_widget_handoff_ui import (
    ORIGIN,
    PAGE_TEMPLATE,
    UI_TIMEOUT_MS,
    FakeChatServer,
    event,
    handoff,
    serve_static,
    strip,
)

pytestmark = pytest.mark.e2e

VIEWPORTS = {
    "laptop": {"width": 1280, "height": 720},
    "phone": {"width": 390, "height": 664},
}
CONVERSATION = [
    ("visitor", "Hello, my card payment was declined at a shop this morning."),
    ("bot", "I'm sorry to hear that. Was it a card payment in a shop or online?"),
    ("visitor", "In a shop, with the physical card, twice in a row."),
    ("bot", "A declined payment can have several causes: a blocked card, a limit or the PIN."),
    ("visitor", "My card is not blocked, I checked in the app."),
    ("bot", "Then the daily limit may have been reached. You can see it in the app's settings."),
    ("visitor", "The limit is fine too. I would like to talk to someone, please."),
    ("bot", "Of course. I can bring in a member of our team."),
    ("visitor", "Thank you, I will wait."),
    ("bot", "The last message of the conversation, which must stay in view."),
]


@pytest.fixture(params=sorted(VIEWPORTS))
def context(request, chromium_browser: Browser) -> Iterator[BrowserContext]:
    context = chromium_browser.new_context(viewport=VIEWPORTS[request.param])
    context.set_default_timeout(UI_TIMEOUT_MS)
    yield context
    context.close()


def open_widget(context: BrowserContext, after_hello: list[dict]) -> tuple[Page, FakeChatServer]:
    """Open the chat on a page whose scripted server sends `after_hello` after `synced`."""
    page = context.new_page()
    server = FakeChatServer(page)
    server.replay = [
        event(seq, author, text) for seq, (author, text) in enumerate(CONVERSATION, start=1)
    ]
    server.after_hello = after_hello
    page.route(f"{ORIGIN}/static/chatbot/*", serve_static)
    page.route(
        f"{ORIGIN}/",
        lambda route: route.fulfill(
            status=200,
            body=PAGE_TEMPLATE.format(lang="en", origin=ORIGIN),
            headers={"content-type": "text/html; charset=utf-8"},
        ),
    )
    page.goto(f"{ORIGIN}/")
    page.get_by_test_id("chat-launcher").click()
    server.wait_for_type("hello")
    expect(page.locator("[data-chat-widget-root]")).to_have_attribute("data-connection", "ready")
    expect(page.get_by_test_id("chat-message")).to_have_count(len(CONVERSATION))
    return page, server


def box(page: Page, selector: str, index: int = 0) -> dict:
    found = page.locator(selector).nth(index).bounding_box()
    assert found is not None, f"{selector} is not rendered"
    return found


def bottom(rectangle: dict) -> float:
    return rectangle["y"] + rectangle["height"]


def assert_inside(inner: dict, outer: dict) -> None:
    """Assert that `inner` is wholly within `outer`, to the pixel's rounding."""
    assert outer["y"] - 1 <= inner["y"] and bottom(inner) <= bottom(outer) + 1, (inner, outer)


def test_the_leave_a_message_form_leaves_the_conversation_in_view(context):
    # Given a long conversation, scrolled to its newest message
    page, server = open_widget(context, after_hello=[handoff("bot")])
    messages = '[data-testid="chat-message"]'
    last_message = len(CONVERSATION) - 1
    expect(page.locator(messages).last).to_be_in_viewport()

    # When the visitor asks for a person and nobody is available
    page.get_by_role("button", name="Talk to a person").click()
    server.wait_for_type("handoff_request")
    server.send(handoff("unavailable", why="no_agent_online", can_leave_message=True))

    # Then the form is there, under the conversation, not over it
    form = page.get_by_test_id("chat-leave-message-form")
    expect(form).to_be_visible()
    message_field = page.get_by_label("Your message", exact=True)
    expect(message_field).to_be_editable()
    expect(page.get_by_label("Email or phone (optional)")).to_be_editable()
    expect(page.get_by_role("button", name="Send message")).to_be_visible()
    panel = box(page, '[data-testid="chat-panel"]')
    scroller = box(page, ".cw-scroller")
    handoff_area = box(page, '[data-testid="chat-handoff"]')
    assert handoff_area["y"] >= bottom(scroller) - 1
    assert scroller["height"] >= panel["height"] / 2, (scroller, panel)

    # And the newest message is still in view, whole
    assert_inside(box(page, messages, last_message), scroller)

    # When the visitor writes a long message
    empty_field = box(page, '[data-testid="chat-leave-message-text"]')
    message_field.fill("\n".join(f"Line {n} of what I want to say." for n in range(1, 10)))

    # Then the field grows a little, its text scrolls within, and the conversation stays in view
    written_field = box(page, '[data-testid="chat-leave-message-text"]')
    assert empty_field["height"] < written_field["height"] <= 3 * empty_field["height"]
    scroller = box(page, ".cw-scroller")
    assert_inside(box(page, messages, last_message), scroller)

    # When the visitor scrolls back to the start of the conversation
    page.locator(".cw-scroller").evaluate("(element) => { element.scrollTop = 0; }")

    # Then the first message comes into view while the form stays where it was
    assert_inside(box(page, messages, 0), scroller)
    expect(form).to_be_visible()
    expect(message_field).to_have_value(
        re.compile("^Line 1 .*Line 9 of what I want to say[.]$", re.S)
    )


def test_the_status_bot_after_connecting_shows_nothing_but_the_request_button(context):
    # Given the server's status after `synced`: the assistant has the conversation
    page, _ = open_widget(context, after_hello=[handoff("bot")])

    # Then the widget shows no notice about it, only the usual way to ask for a person
    expect(page.get_by_role("button", name="Talk to a person")).to_be_visible()
    expect(strip(page)).to_have_text("")
    expect(page.get_by_test_id("chat-handoff-strip")).to_have_attribute("data-state", "none")
    expect(page.get_by_test_id("chat-leave-message-form")).to_be_hidden()
    expect(page.get_by_test_id("chat-notice")).to_be_hidden()
