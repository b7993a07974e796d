"""An administrator's first sign-in in a real browser under the site's policy: the password,
then enrolling an authenticator app from the QR code's key, then a code at every sign-in."""

import base64
import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, expect

from tests.e2e.test_content_security_policy import (
    RECORD_VIOLATIONS,
    UI_TIMEOUT_MS,
    WatchedPage,
    assert_policy_sent,
)
from tests.live_server import seeded_server
from tests.staff_sign_in import unused_code

pytestmark = pytest.mark.e2e

ADMIN = ("olivia", "olivia-runs-the-bank")
CREATE_ADMIN = f"""
from chatbot.staff_users import add_staff_user
add_staff_user({ADMIN[0]!r}, {ADMIN[1]!r}, "admin")
"""


@pytest.fixture(scope="module")
def bank_server() -> Iterator[str]:
    """Serve a fresh database with an administrator who has no second factor yet."""
    with seeded_server("sign-in-e2e-", CREATE_ADMIN) as url:
        yield url


@pytest.fixture
def context(chromium_browser: Browser) -> Iterator[BrowserContext]:
    context = chromium_browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(UI_TIMEOUT_MS)
    context.add_init_script(RECORD_VIOLATIONS)
    yield context
    context.close()


def key_from_secret(secret_text: str) -> str:
    """Return the hex key of the base32 secret shown for typing into an app."""
    secret = secret_text.replace(" ", "")
    return base64.b32decode(secret + "=" * (-len(secret) % 8)).hex()


def test_an_admin_enrols_an_authenticator_and_signs_in_with_its_codes(context, bank_server):
    # Given the administrator on the admin's sign-in, with the right password
    watched = WatchedPage(context)
    page = watched.page
    assert_policy_sent(page.goto(bank_server + "/admin/"))
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=/admin/$"))
    page.get_by_label("Username").fill(ADMIN[0])
    page.get_by_label("Password").fill(ADMIN[1])
    page.get_by_role("button", name="Log in").click()

    # Then she must set up a second factor: a QR code and its key in text
    expect(page).to_have_url(bank_server + "/accounts/login/enrol/")
    expect(page.get_by_role("heading", name="Set up your second factor")).to_be_visible()
    qr_code = page.get_by_test_id("totp-qr-code").locator("svg")
    expect(qr_code).to_be_visible()
    assert qr_code.bounding_box()["width"] == 200
    key = key_from_secret(page.get_by_test_id("totp-secret").inner_text())

    # When a wrong code is typed, then she is told and stays
    page.get_by_label("Code").fill("000000" if unused_code(key) != "000000" else "111111")
    page.get_by_role("button", name="Confirm and sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("That code is not right.")

    # When her app's code is typed (after django-otp's short pause following a wrong one)
    page.wait_for_timeout(2_000)
    page.get_by_label("Code").fill(unused_code(key))
    page.get_by_role("button", name="Confirm and sign in").click()

    # Then she is in the admin
    expect(page).to_have_url(bank_server + "/admin/")
    expect(page.get_by_role("heading", name="Site administration")).to_be_visible()

    # When she logs out and signs in again
    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(re.compile(r"/accounts/login/"))
    page.goto(bank_server + "/accounts/login/?next=/admin/")
    page.get_by_label("Username").fill(ADMIN[0])
    page.get_by_label("Password").fill(ADMIN[1])
    page.get_by_role("button", name="Log in").click()

    # Then a code is asked for, and her app's next code lets her in
    expect(page).to_have_url(bank_server + "/accounts/login/code/")
    page.get_by_label("Code").fill(unused_code(key))
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(bank_server + "/admin/")

    # And her sign-in security page says her second factor is on; nothing was blocked
    assert_policy_sent(page.goto(bank_server + "/accounts/security/"))
    expect(page.get_by_test_id("second-factor-state")).to_contain_text("On:")
    assert watched.violations() == []
