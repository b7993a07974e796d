"""The API's docs page in Chromium: every operation listed, one tried with a key, under the
site's Content-Security-Policy."""

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, expect

from tests.e2e.test_content_security_policy import RECORD_VIOLATIONS, WatchedPage
from tests.live_server import seeded_server

pytestmark = pytest.mark.e2e

KEY = "cbk_docs-page-key-for-tests-only"
SEED = f"""
from chatbot import actions
from chatbot.api.models import ApiKey, key_digest

ApiKey.objects.create(name="docs", prefix="{KEY[:12]}", digest=key_digest("{KEY}"),
                      scopes=["conversations:read"])
actions.open_conversation(actions.create_visitor().pk, is_new_visitor=True)
"""


@pytest.fixture(scope="module")
def docs_server() -> Iterator[str]:
    with seeded_server("chatbot-api-docs-", SEED) as url:
        yield url


@pytest.fixture
def context(chromium_browser: Browser) -> Iterator[BrowserContext]:
    context = chromium_browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(20_000)
    context.add_init_script(RECORD_VIOLATIONS)
    yield context
    context.close()


def test_the_docs_page_lists_every_operation_and_tries_one_with_a_key(context, docs_server):
    watched = WatchedPage(context)
    page = watched.page
    schema = page.request.get(docs_server + "/api/v1/schema?format=json").json()
    operations = sum(
        method in ("get", "post", "put", "patch", "delete")
        for methods in schema["paths"].values()
        for method in methods
    )

    # The page draws one block per operation, from its own script and the served schema
    response = page.goto(docs_server + "/api/v1/docs")
    policy = response.header_value("content-security-policy")
    assert "script-src 'self';" in policy and "style-src 'self';" in policy
    assert "img-src 'self' data:;" in policy  # Swagger UI's icons; nothing inline
    expect(page.locator(".opblock")).to_have_count(operations)

    # A key entered under "Authorize" is sent with "Try it out"
    page.get_by_role("button", name=re.compile("Authorize")).first.click()
    dialog = page.locator(".modal-ux")
    expect(dialog).to_contain_text("Authorization: Bearer KEY")
    dialog.get_by_label("auth-bearer-value").fill(KEY)
    dialog.get_by_role("button", name="Apply credentials").click()
    dialog.get_by_role("button", name="Close").click()
    listing = page.locator("#operations-conversations-conversations_list")
    listing.locator(".opblock-summary").click()
    listing.get_by_role("button", name="Try it out").click()
    listing.get_by_role("button", name="Execute").click()
    answer = listing.locator(".live-responses-table tbody tr.response").first
    expect(answer.locator(".response-col_status")).to_have_text("200", timeout=20_000)
    expect(answer.locator(".microlight").first).to_contain_text('"results"')

    # Nothing was blocked by the policy
    assert watched.violations() == []
