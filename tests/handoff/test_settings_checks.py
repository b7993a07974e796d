"""The handoff's settings: plain values in the settings, checked against the rules at start-up."""

import os
import subprocess
import sys

from django.core import checks

from tests.live_server import REPO_ROOT


def test_the_settings_defaults_are_the_escalation_rules_own(tmp_path):
    # In a fresh process with no HANDOFF_* variable: the settings as an operator gets them.
    environment = {
        name: value for name, value in os.environ.items() if not name.startswith("HANDOFF_")
    }
    environment.update(VAR_DIR=str(tmp_path), DJANGO_SETTINGS_MODULE="chatbot.settings")
    program = (
        "import django; django.setup()\n"
        "from chatbot.dialogue.escalation import EscalationRules\n"
        "from handoff.configuration import escalation_rules\n"
        "print(escalation_rules() == EscalationRules())\n"
    )

    result = subprocess.run(
        [sys.executable, "-c", program],
        cwd=REPO_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "True"


def test_an_unknown_trigger_stops_django_from_starting(settings):
    settings.HANDOFF_TRIGGERS = ["requested", "moon_phase"]

    errors = checks.run_checks()

    assert [error.id for error in errors] == ["handoff.E001"]
    assert "moon_phase" in errors[0].msg


def test_known_triggers_pass_the_check(settings):
    settings.HANDOFF_TRIGGERS = ["requested", "frustration"]

    assert checks.run_checks() == []
