"""The TOTP second factor: required of administrators, optional for other staff."""

import re

import pytest
from django.core.management import call_command
from django.test import Client
from django_otp.plugins.otp_totp.models import TOTPDevice

from chatbot.audit import actions as audit
from chatbot.audit.models import AuditEntry
from chatbot.staff_users import add_staff_user
from tests.staff_auth.conftest import PASSWORD, actions_recorded, password_step

pytestmark = [pytest.mark.django_db, pytest.mark.databases]

WRONG_CODE = "That code is not right."
STAFF_PAGES = ["/admin/", "/knowledge/", "/console/"]


def enrolment_key(user) -> str:
    return TOTPDevice.objects.get(user=user, confirmed=False).key


def test_an_admin_with_a_device_is_asked_for_a_code_and_not_yet_signed_in(clock, ada_and_key):
    client = Client()

    response = password_step(client, "ada", next_page="/admin/")

    assert response["Location"] == "/accounts/login/code/"
    assert [client.get(page).status_code for page in STAFF_PAGES] == [302, 302, 302]
    assert actions_recorded() == []


def test_a_wrong_code_is_refused_and_recorded_and_the_right_code_signs_in(clock, ada_and_key):
    # Given ada past her password
    ada, key = ada_and_key
    client = Client()
    password_step(client, "ada", next_page="/admin/")

    # When she types a wrong code
    wrong = client.post("/accounts/login/code/", {"code": clock.code(key, steps_ahead=5)})

    # Then she stays on the code page, not signed in, and the failure is recorded
    assert wrong.status_code == 200 and WRONG_CODE in wrong.content.decode()
    assert client.get("/admin/").status_code == 302
    failure = AuditEntry.objects.get(action=audit.SIGN_IN_FAILED)
    assert failure.details == {"stage": "second_factor", "lockout_started": False}

    # When she types the right one (after django-otp's one-second pause after a failure)
    clock.advance(seconds=2)
    right = client.post("/accounts/login/code/", {"code": clock.code(key)})

    # Then she lands where she was going, signed in and verified
    assert right.status_code == 302 and right["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200
    entry = AuditEntry.objects.get(action=audit.SIGN_IN)
    assert (entry.actor_name, entry.details) == ("ada", {"second_factor": True})
    assert clock.code(key) not in str(list(AuditEntry.objects.values()))


def test_a_code_that_is_not_six_digits_is_refused_without_counting(clock, ada_and_key):
    client = Client()
    password_step(client, "ada")

    response = client.post("/accounts/login/code/", {"code": "12ab"})

    assert "Enter the 6 digits your authenticator app shows." in response.content.decode()
    assert actions_recorded() == []


def test_a_used_code_cannot_sign_in_again(clock, ada_and_key):
    _, key = ada_and_key
    first = Client()
    password_step(first, "ada")
    first.post("/accounts/login/code/", {"code": clock.code(key)})

    second = Client()
    password_step(second, "ada")
    response = second.post("/accounts/login/code/", {"code": clock.code(key)})

    assert WRONG_CODE in response.content.decode()
    assert second.get("/admin/").status_code == 302


def test_the_code_page_without_a_password_first_sends_to_sign_in(clock, ada_and_key):
    _, key = ada_and_key

    response = Client().post("/accounts/login/code/", {"code": clock.code(key)})

    assert response.status_code == 302 and response["Location"] == "/accounts/login/"


def test_the_code_must_follow_the_password_within_five_minutes(clock, ada_and_key):
    _, key = ada_and_key
    client = Client()
    password_step(client, "ada")
    clock.advance(minutes=5, seconds=1)

    response = client.post("/accounts/login/code/", {"code": clock.code(key)})

    assert response["Location"] == "/accounts/login/"
    assert client.get("/admin/").status_code == 302


def test_an_admin_without_a_device_must_enrol_before_any_staff_page(clock, db):
    # Given an administrator who never set up a second factor
    ada = add_staff_user("ada", PASSWORD, "admin")
    client = Client()

    # When she gives her password
    response = password_step(client, "ada", next_page="/knowledge/")

    # Then she is sent to enrol, and no staff page opens to her meanwhile
    assert response["Location"] == "/accounts/login/enrol/"
    assert [client.get(page).status_code for page in STAFF_PAGES] == [302, 302, 302]
    page = client.get("/accounts/login/enrol/").content.decode()
    assert '<svg width="' in page and 'data-testid="totp-qr-code"' in page
    secret = re.search(r'data-testid="totp-secret">([A-Z2-7 ]+)<', page).group(1)
    assert len(secret.replace(" ", "")) == 32
    assert not TOTPDevice.objects.filter(user=ada, confirmed=True).exists()


def test_an_admin_enrols_with_the_apps_code_and_lands_signed_in(clock, db):
    ada = add_staff_user("ada", PASSWORD, "admin")
    client = Client()
    password_step(client, "ada", next_page="/knowledge/")
    client.get("/accounts/login/enrol/")
    key = enrolment_key(ada)

    wrong = client.post("/accounts/login/enrol/", {"code": clock.code(key, steps_ahead=4)})
    assert WRONG_CODE in wrong.content.decode()
    assert not TOTPDevice.objects.filter(user=ada, confirmed=True).exists()

    clock.advance(seconds=2)
    right = client.post("/accounts/login/enrol/", {"code": clock.code(key)})

    assert right.status_code == 302 and right["Location"] == "/knowledge/"
    assert client.get("/admin/").status_code == 200
    assert TOTPDevice.objects.get(user=ada).confirmed
    assert actions_recorded() == [
        audit.SIGN_IN_FAILED,
        audit.SECOND_FACTOR_ADDED,
        audit.SIGN_IN,
    ]


@pytest.mark.parametrize(
    ("path", "refused"),
    [
        ("/admin/", 302),
        ("/admin/auth/user/", 302),
        ("/knowledge/", 302),
        ("/knowledge/api/nodes", 403),
        ("/console/", 302),
        ("/console/api/report", 403),
    ],
)
def test_an_admin_session_not_verified_by_the_second_factor_is_refused(
    clock, ada_and_key, path, refused
):
    # Given an administrator's session signed in without the second factor (as before it existed)
    ada, _ = ada_and_key
    client = Client()
    client.force_login(ada)

    # When it opens a staff page or endpoint, then it is refused and the session has ended
    assert client.get(path).status_code == refused
    assert "_auth_user_id" not in client.session


def test_an_agent_enrols_from_the_security_page_and_then_signs_in_with_a_code(clock, agnes):
    # Given agnes signed in with her password alone
    client = Client()
    password_step(client, "agnes")
    page = client.get("/accounts/security/").content.decode()
    assert "Off: you sign in with your password alone." in page
    key = enrolment_key(agnes)

    # When she confirms the app's code
    response = client.post("/accounts/security/", {"code": clock.code(key)})

    # Then her factor is on, her session goes on, and her next sign-in asks for a code
    assert response["Location"] == "/accounts/security/"
    assert "On: every sign-in asks for a code" in client.get("/accounts/security/").content.decode()
    assert client.get("/console/").status_code == 200
    assert password_step(Client(), "agnes")["Location"] == "/accounts/login/code/"
    entry = AuditEntry.objects.get(action=audit.SECOND_FACTOR_ADDED)
    assert (entry.actor_name, entry.target_id) == ("agnes", str(agnes.pk))


def test_an_agent_without_a_second_factor_is_not_asked_for_one(clock, agnes):
    response = password_step(Client(), "agnes")

    assert response["Location"] == "/console/"
    assert AuditEntry.objects.get(action=audit.SIGN_IN).details == {"second_factor": False}


def test_an_agent_removes_their_second_factor_only_with_a_right_code(clock, agnes):
    # Given agnes enrolled and signed in
    client = Client()
    password_step(client, "agnes")
    client.get("/accounts/security/")
    key = enrolment_key(agnes)
    client.post("/accounts/security/", {"code": clock.code(key)})
    clock.advance(seconds=30)

    # When she asks to remove it with a wrong code, then it stays
    client.post("/accounts/security/", {"code": clock.code(key, steps_ahead=5)})
    assert TOTPDevice.objects.filter(user=agnes, confirmed=True).exists()

    # When she confirms with the right code, then it is gone and recorded
    clock.advance(seconds=2)
    client.post("/accounts/security/", {"code": clock.code(key)})
    assert not TOTPDevice.objects.filter(user=agnes).exists()
    assert actions_recorded()[-1] == audit.SECOND_FACTOR_REMOVED
    assert password_step(Client(), "agnes")["Location"] == "/console/"


def test_an_admin_cannot_remove_their_second_factor(clock, ada_and_key):
    ada, key = ada_and_key
    client = Client()
    password_step(client, "ada")
    client.post("/accounts/login/code/", {"code": clock.code(key)})
    clock.advance(seconds=30)

    response = client.post("/accounts/security/", {"code": clock.code(key)}, follow=True)

    assert "An administrator must keep a second factor." in response.content.decode()
    assert TOTPDevice.objects.filter(user=ada, confirmed=True).exists()
    assert audit.SECOND_FACTOR_REMOVED not in actions_recorded()


def test_the_operator_resets_a_lost_second_factor_and_ends_the_admins_sessions(clock, ada_and_key):
    # Given ada signed in, who then loses her phone
    ada, key = ada_and_key
    client = Client()
    password_step(client, "ada")
    client.post("/accounts/login/code/", {"code": clock.code(key)})

    # When the operator resets her second factor
    call_command("reset_second_factor", "ada")

    # Then her session has ended, and her next sign-in enrols a new device
    assert client.get("/admin/").status_code == 302
    assert not TOTPDevice.objects.filter(user=ada).exists()
    assert password_step(Client(), "ada")["Location"] == "/accounts/login/enrol/"
    removed = AuditEntry.objects.get(action=audit.SECOND_FACTOR_REMOVED)
    assert (removed.actor_kind, removed.target_id, removed.details["by"]) == (
        "system",
        str(ada.pk),
        "operator",
    )


def test_the_reset_command_names_an_unknown_user(db):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="No user is called 'nobody'"):
        call_command("reset_second_factor", "nobody")


def test_the_totp_devices_are_not_in_the_admin(clock, ada_and_key):
    ada, key = ada_and_key
    client = Client()
    password_step(client, "ada")
    client.post("/accounts/login/code/", {"code": clock.code(key)})

    assert client.get("/admin/otp_totp/totpdevice/").status_code == 404
