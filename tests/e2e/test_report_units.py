"""The report page shows a conversation handed over several times as one conversation, 100 %.

Before, three handoffs in one conversation made the API say `rate: 2.0` and the page read
"Asked for a person 2 %".
"""

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, expect

from tests.live_server import seeded_server

pytestmark = pytest.mark.e2e

UI_TIMEOUT_MS = 20_000
AGENT = ("rita", "rita-reads-reports")
# One visitor asks for a person three times, cancelling in between.
SEED = f"""
from chatbot import actions as chat_actions
from handoff import actions
from chatbot.staff_users import add_staff_user
add_staff_user({AGENT[0]!r}, {AGENT[1]!r}, "agent")
conversation = chat_actions.open_conversation(chat_actions.create_visitor().pk)
chat_actions.record_visitor_message(conversation.pk, "c-1", "my card has not arrived")
actions.request_handoff(conversation.pk, "requested")
actions.cancel_by_visitor(conversation.pk)
actions.request_handoff(conversation.pk, "requested")
actions.cancel_by_visitor(conversation.pk)
actions.request_handoff(conversation.pk, "requested")
"""


@pytest.fixture(scope="module")
def report_server() -> Iterator[str]:
    with seeded_server("report-e2e-", SEED) as url:
        yield url


def row_cells(page, testid: str, label: str) -> list[str]:
    row = page.get_by_test_id(testid).locator("tr", has=page.locator("th", has_text=label))
    return [cell.strip() for cell in row.locator("td").all_inner_texts()]


def test_several_handoffs_in_one_conversation_read_as_one_conversation_at_100_percent(
    chromium_browser: Browser, report_server
):
    context = chromium_browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(UI_TIMEOUT_MS)
    try:
        page = context.new_page()
        page.goto(report_server + "/console/report/")
        page.get_by_label("Username").fill(AGENT[0])
        page.get_by_label("Password").fill(AGENT[1])
        page.get_by_role("button", name="Log in").click()
        expect(page.get_by_test_id("report-status")).to_contain_text("Updated at")

        expect(page.locator("#conversations-number")).to_have_text("1")
        expect(page.locator("#handoffs-number")).to_have_text("3")
        asked = row_cells(page, "chart-reasons-table", "Asked for a person")
        containment = row_cells(page, "report-containment-table", "Handed to agents")

        assert asked[:2] == ["1", "3"] and re.fullmatch(r"100\s?%", asked[2])
        assert containment == ["1"]
    finally:
        context.close()
