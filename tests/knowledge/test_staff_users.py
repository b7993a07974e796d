"""`add_staff_user`: the configured password validators, a confirmed prompt, nothing half-made."""

import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError

pytestmark = pytest.mark.django_db


def add(username: str, role: str, password: str, tmp_path) -> str:
    password_file = tmp_path / "password"
    password_file.write_text(password + "\n")
    out = io.StringIO()
    call_command(
        "add_staff_user",
        username,
        "--role",
        role,
        "--password-file",
        str(password_file),
        stdout=out,
    )
    return out.getvalue()


@pytest.mark.parametrize(
    ("username", "role", "password", "complaint"),
    [
        ("agnes", "agent", "12345678", "entirely numeric"),
        ("agnes", "agent", "password1", "too common"),
        ("administrator", "admin", "administrator", "too similar to the username"),
        ("ed", "editor", "short7!", "too short"),
    ],
)
def test_a_weak_password_is_refused_with_the_validators_reasons_and_no_user_is_made(
    username, role, password, complaint, tmp_path
):
    with pytest.raises(CommandError) as error:
        add(username, role, password, tmp_path)

    assert complaint in str(error.value)
    assert not get_user_model().objects.filter(username=username).exists()


def test_a_strong_password_makes_the_user(tmp_path):
    out = add("agnes", "agent", "quiet-lantern-harbour", tmp_path)

    assert "agnes can now log in as agent" in out
    assert get_user_model().objects.get(username="agnes").check_password("quiet-lantern-harbour")


def test_resetting_an_existing_users_password_is_checked_too(tmp_path):
    add("agnes", "agent", "quiet-lantern-harbour", tmp_path)

    with pytest.raises(CommandError):
        add("agnes", "agent", "agnes123", tmp_path)

    assert get_user_model().objects.get(username="agnes").check_password("quiet-lantern-harbour")


def test_the_prompt_asks_twice_and_refuses_two_different_answers(monkeypatch):
    answers = iter(["quiet-lantern-harbour", "quiet-lantern-harbor"])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))

    with pytest.raises(CommandError, match="differ"):
        call_command("add_staff_user", "agnes", "--role", "agent", stdout=io.StringIO())

    assert not get_user_model().objects.filter(username="agnes").exists()


def test_the_prompt_accepts_the_same_strong_password_twice(monkeypatch):
    monkeypatch.setattr("getpass.getpass", lambda prompt="": "quiet-lantern-harbour")

    call_command("add_staff_user", "agnes", "--role", "agent", stdout=io.StringIO())

    assert get_user_model().objects.get(username="agnes").check_password("quiet-lantern-harbour")
