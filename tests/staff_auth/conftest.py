"""A clock the tests move, and the staff cast: an agent, an editor, an administrator."""

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from django.test import Client

from chatbot.audit.models import AuditEntry
from chatbot.staff_users import add_staff_user
from tests.staff_sign_in import add_admin_with_second_factor, totp_code

PASSWORD = "quiet-lantern-harbour"


class Clock:
    """The time sign-in, sessions and TOTP codes see; it moves only when a test moves it."""

    def __init__(self) -> None:
        # A fixed time, mid-way through a TOTP step, so that codes do not change under a test.
        self.current = datetime(2026, 3, 2, 9, 0, 10, tzinfo=UTC)

    def now(self) -> datetime:
        return self.current

    def timestamp(self) -> float:
        return self.current.timestamp()

    def advance(self, **delta: float) -> None:
        self.current += timedelta(**delta)

    def code(self, key_hex: str, steps_ahead: int = 0) -> str:
        """Return the authenticator app's code now (or some 30-second steps later)."""
        return totp_code(key_hex, self.timestamp() + 30 * steps_ahead)


@pytest.fixture
def clock(monkeypatch) -> Clock:
    """Drive sign-in, session expiry and django-otp's TOTP checks and throttling by one clock."""
    import django_otp.models
    import django_otp.plugins.otp_totp.models

    from chatbot.staff_auth import clock as sign_in_clock

    clock = Clock()
    monkeypatch.setattr(sign_in_clock, "now", clock.now)
    monkeypatch.setattr(
        django_otp.plugins.otp_totp.models, "time", SimpleNamespace(time=clock.timestamp)
    )
    monkeypatch.setattr(django_otp.models, "timezone", SimpleNamespace(now=clock.now))
    return clock


@pytest.fixture
def agnes(db):
    """Agnes, an agent, without a second factor."""
    return add_staff_user("agnes", PASSWORD, "agent")


@pytest.fixture
def ada_and_key(db):
    """Ada, an administrator with a confirmed authenticator app, and its key."""
    return add_admin_with_second_factor("ada", PASSWORD)


def password_step(client: Client, username: str, password: str = PASSWORD, next_page: str = ""):
    """Post the sign-in form (on its way to next_page when given)."""
    data = {"username": username, "password": password}
    if next_page:
        data["next"] = next_page
    return client.post("/accounts/login/", data)


def is_signed_in(client: Client) -> bool:
    """Return whether the client's session is signed in (its own page opens)."""
    return client.get("/accounts/security/").status_code == 200


def actions_recorded() -> list[str]:
    """Return the audit trail's actions, oldest first, but for the roles the test's users were
    made with."""
    entries = AuditEntry.objects.exclude(action="role_changed").order_by("at", "id")
    return list(entries.values_list("action", flat=True))
