"""A command that needs the database, run before `migrate`, says to run `migrate` first.

Before, `import_intents` on a fresh checkout died in `OperationalError: no such table`.
"""

import pytest

from tests.live_server import run_manage, server_environment


@pytest.mark.parametrize(
    "arguments",
    [
        ["import_intents", "chatbot/nlu/data/conversation.csv"],
        ["import_knowledge", "knowledge/demo/kestrel_bank.json"],
        ["export_knowledge", "exported.json"],
        ["add_staff_user", "agnes", "--role", "agent", "--password-file", "password"],
        ["load_demo"],
        ["train_intents", "--fast"],
    ],
    ids=lambda arguments: arguments[0],
)
def test_a_command_on_an_unmigrated_database_says_to_migrate_and_writes_nothing(
    arguments, tmp_path
):
    database = tmp_path / "fresh.sqlite3"
    (tmp_path / "password").write_text("quiet-lantern-harbour\n")
    environment = server_environment(f"sqlite:///{database}", "http://localhost", tmp_path)
    resolved = [str(tmp_path / a) if a in ("exported.json", "password") else a for a in arguments]

    result = run_manage(environment, *resolved, timeout=300)

    assert result.returncode == 1, result.stdout + result.stderr
    assert "Run `python manage.py migrate` first." in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "exported.json").exists()
