"""Failed sign-ins are counted per account and per address; at the limit, even the right
password is refused for a while, in words that do not tell whether the account exists."""

import pytest
from django.test import Client

from chatbot.audit import actions as audit
from chatbot.audit.models import AuditEntry
from chatbot.staff_users import add_staff_user
from tests.staff_auth.conftest import PASSWORD, actions_recorded, is_signed_in, password_step

pytestmark = [pytest.mark.django_db, pytest.mark.databases]

LOCKED = "Too many failed sign-ins for this account or from this address."


@pytest.fixture(autouse=True)
def small_limits(settings):
    settings.SIGNIN_MAX_FAILURES_PER_ACCOUNT = 3
    settings.SIGNIN_MAX_FAILURES_PER_ADDRESS = 5
    settings.SIGNIN_FAILURE_WINDOW_MINUTES = 15
    settings.SIGNIN_LOCKOUT_MINUTES = 10


def fail(client: Client, username: str, times: int) -> None:
    for _ in range(times):
        response = password_step(client, username, "not-the-password")
        assert response.status_code == 200


def test_an_account_at_its_limit_refuses_even_the_right_password_and_says_when_to_retry(
    clock, agnes
):
    # Given three wrong passwords for agnes
    client = Client()
    fail(client, "agnes", 3)

    # When she then gives the right one
    response = password_step(client, "agnes")

    # Then she is refused, told when to try again, and not signed in
    page = response.content.decode()
    assert response.status_code == 200
    assert LOCKED in page and "Try again after 09:10 UTC (in 10 minutes)." in page
    assert not is_signed_in(client)
    assert actions_recorded() == [audit.SIGN_IN_FAILED] * 3 + [audit.SIGN_IN_THROTTLED]


def test_the_third_failure_itself_says_the_account_is_locked(clock, agnes):
    client = Client()
    fail(client, "agnes", 2)

    response = password_step(client, "agnes", "still-wrong")

    assert LOCKED in response.content.decode()
    failures = AuditEntry.objects.filter(action=audit.SIGN_IN_FAILED).order_by("id")
    assert [entry.details["lockout_started"] for entry in failures] == [False, False, True]


def test_an_unknown_account_is_locked_in_the_same_words(clock, agnes):
    # Given as many failures for an account that exists as for one that does not
    fail(Client(), "agnes", 3)
    fail(Client(REMOTE_ADDR="198.51.100.7"), "nobody-here", 3)

    # When each is tried again
    known = password_step(Client(), "agnes").content.decode()
    unknown = password_step(Client(REMOTE_ADDR="198.51.100.7"), "nobody-here").content.decode()

    # Then both pages say the same
    def refusal(page: str) -> str:
        return page[page.index(LOCKED) : page.index("</p>", page.index(LOCKED))]

    assert refusal(known) == refusal(unknown)


def test_the_lockout_is_per_account_another_account_signs_in(clock, agnes):
    add_staff_user("eddie", PASSWORD, "editor")
    fail(Client(), "agnes", 3)

    response = password_step(Client(), "eddie")

    assert response.status_code == 302 and response["Location"] == "/knowledge/"


def test_an_address_at_its_limit_is_refused_for_every_account_but_others_are_not(clock, agnes):
    # Given five failures from one address, spread over accounts below their own limit
    attacker = Client(REMOTE_ADDR="203.0.113.9")
    for username in ("agnes", "bob", "carol", "dave", "erin"):
        fail(attacker, username, 1)

    # When agnes's right password comes from that address, and from another
    from_there = password_step(Client(REMOTE_ADDR="203.0.113.9"), "agnes")
    elsewhere = Client(REMOTE_ADDR="192.0.2.44")
    from_elsewhere = password_step(elsewhere, "agnes")

    # Then only the other address gets in
    assert LOCKED in from_there.content.decode()
    assert from_elsewhere.status_code == 302 and is_signed_in(elsewhere)


def test_after_the_lockout_the_right_password_signs_in_and_is_recorded(clock, agnes):
    client = Client()
    fail(client, "agnes", 3)
    clock.advance(minutes=10, seconds=1)

    response = password_step(client, "agnes")

    assert response.status_code == 302 and response["Location"] == "/console/"
    assert is_signed_in(client)
    entry = AuditEntry.objects.get(action=audit.SIGN_IN)
    assert (entry.actor_name, entry.target_id, entry.ip_address) == (
        "agnes",
        str(agnes.pk),
        "127.0.0.1",
    )


def test_failures_older_than_the_window_no_longer_count(clock, agnes):
    client = Client()
    fail(client, "agnes", 2)
    clock.advance(minutes=16)
    fail(client, "agnes", 2)

    response = password_step(client, "agnes")

    assert response.status_code == 302


def test_a_successful_sign_in_clears_the_accounts_failures(clock, agnes):
    client = Client()
    fail(client, "agnes", 2)
    password_step(client, "agnes")

    fail(Client(), "agnes", 2)

    assert password_step(Client(), "agnes").status_code == 302


def test_the_audit_trail_names_the_account_and_address_but_never_the_password(clock, agnes):
    password_step(Client(REMOTE_ADDR="203.0.113.9"), "agnes", "hunter2-secret")
    password_step(Client(REMOTE_ADDR="203.0.113.9"), "hunter3-typed-as-name", "x")

    known, unknown = AuditEntry.objects.filter(action=audit.SIGN_IN_FAILED).order_by("id")
    assert (known.target_type, known.target_id, known.ip_address) == (
        "user",
        str(agnes.pk),
        "203.0.113.9",
    )
    assert known.details == {"stage": "password", "lockout_started": False}
    assert (unknown.target_type, unknown.target_id) == ("", "")
    stored = str(list(AuditEntry.objects.values()))
    assert "hunter2-secret" not in stored and "hunter3-typed-as-name" not in stored


def test_the_admins_own_login_leads_to_the_staff_sign_in(clock, ada_and_key):
    response = Client().get("/admin/login/", {"next": "/admin/"})

    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/admin/"


def test_posting_a_password_to_the_admins_login_signs_nobody_in(clock, ada_and_key):
    client = Client()

    client.post("/admin/login/?next=/admin/", {"username": "ada", "password": PASSWORD})

    assert client.get("/admin/").status_code == 302
    assert actions_recorded() == []
