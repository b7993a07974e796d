"""Settings come from the environment, and a bad value stops start-up with a clear message."""

import os
import subprocess
import sys

import pytest
from django.core.exceptions import ImproperlyConfigured

from chatbot.envvars import env_bool, env_int, env_list, env_secret
from tests.live_server import REPO_ROOT


def test_typed_readers_parse_good_values(monkeypatch, tmp_path):
    secret_file = tmp_path / "secret"
    secret_file.write_text("s3cret\n")
    monkeypatch.setenv("SOME_FLAG", "yes")
    monkeypatch.setenv("SOME_NUMBER", "42")
    monkeypatch.setenv("SOME_LIST", "https://a.example, https://b.example,")
    monkeypatch.setenv("SOME_SECRET_FILE", str(secret_file))

    assert env_bool("SOME_FLAG", False) is True
    assert env_int("SOME_NUMBER", 1, minimum=1) == 42
    assert env_list("SOME_LIST", []) == ["https://a.example", "https://b.example"]
    assert env_secret("SOME_SECRET") == "s3cret"


@pytest.mark.parametrize(
    ("value", "reader"),
    [
        ("maybe", lambda: env_bool("X_VALUE", False)),
        ("12abc", lambda: env_int("X_VALUE", 1)),
        ("0", lambda: env_int("X_VALUE", 1, minimum=1)),
    ],
)
def test_typed_readers_refuse_bad_values(monkeypatch, value, reader):
    monkeypatch.setenv("X_VALUE", value)

    with pytest.raises(ImproperlyConfigured, match="X_VALUE"):
        reader()


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("CHAT_MAX_MESSAGE_CHARS", "lots", "CHAT_MAX_MESSAGE_CHARS must be an integer"),
        ("DATABASE_URL", "mysql://db/chat", "DATABASE_URL must be a postgres:// or sqlite:// URL"),
        ("REDIS_URL", "localhost:6379", "REDIS_URL must be a redis://"),
        ("DEBUG", "perhaps", "DEBUG must be a boolean"),
    ],
)
def test_the_server_refuses_to_start_with_a_bad_value(tmp_path, name, value, message):
    environment = {**os.environ, "VAR_DIR": str(tmp_path), name: value}
    environment.pop("DJANGO_SETTINGS_MODULE", None)

    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=REPO_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode != 0
    assert message in result.stderr


def test_the_dialogue_settings_default_to_the_policy_s_own_defaults():
    from django.conf import settings as django_settings

    from chatbot.dialogue.policy import PolicySettings
    from chatbot.turn_configuration import configured_turn

    defaults = PolicySettings()

    assert configured_turn().policy == defaults
    assert defaults.tentative_floor == django_settings.DIALOGUE_TENTATIVE_FLOOR
