"""Schemathesis, driven by the served schema, against a live server with data in it.

It sends generated requests (valid and invalid) to every operation and checks that none gets a
server error and that every response matches the schema: status, content type and body.
"""

import subprocess
import sys
from pathlib import Path

from tests.api.test_schema_and_keys import operations as operations_in_schema
from tests.live_server import seeded_server

KEY = "cbk_schemathesis-run-key-for-tests-only"

SEED = f"""
from chatbot import actions
from chatbot.api.models import SCOPES, ApiKey, key_digest
from handoff import actions as handoff_actions
from tests.handoff.conftest import new_agent

ApiKey.objects.create(name="schemathesis", prefix="{KEY[:12]}", digest=key_digest("{KEY}"),
                      scopes=sorted(SCOPES))
new_agent("anna")
for n in range(3):
    conversation = actions.open_conversation(actions.create_visitor().pk, is_new_visitor=True)
    actions.record_visitor_message(conversation.pk, f"c-{{n}}", "my card was stolen")
    handoff_actions.request_handoff(conversation.pk, "requested", "lost_or_stolen_card")
    handoff_actions.leave_message(conversation.pk, "please call me", "ada@example.com")
"""


def test_generated_requests_find_no_server_error_and_no_response_off_the_schema(
    monkeypatch, tmp_path
):
    monkeypatch.setenv("API_RATE_LIMIT", "100000/minute")
    with seeded_server("chatbot-schemathesis-", SEED) as url:
        run = subprocess.run(
            [
                str(Path(sys.executable).with_name("schemathesis")),
                "--config-file",
                str(Path(__file__).with_name("schemathesis.toml")),
                "run",
                f"{url}/api/v1/schema",
                "--header",
                f"Authorization: Bearer {KEY}",
                "--checks",
                "all",
                "--max-examples",
                "25",
                "--seed",
                "1",
                "--report-dir",
                str(tmp_path),
                # Nothing kept between runs: the same seed, the same requests.
                "--generation-database",
                "none",
            ],
            # Its caches go to the test's own folder, not the repository.
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=600,
        )

    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
    operations = len(operations_in_schema())
    assert f"Tested: {operations}" in run.stdout, run.stdout[-3000:]  # every operation
