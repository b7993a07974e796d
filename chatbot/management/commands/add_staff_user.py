"""python manage.py add_staff_user NAME --role editor|agent|admin [--password-file F]"""

import getpass
from pathlib import Path

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from chatbot.staff_users import ROLES, add_staff_user
from knowledge.management.database_ready import require_migrated


class Command(BaseCommand):
    help = (
        "Create a user of the knowledge editor (editor), the agent console (agent) or both "
        "(admin), or reset their password. The password is asked twice, or read from "
        "--password-file, and must pass the configured password validators."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("username")
        parser.add_argument("--role", choices=sorted(ROLES), required=True)
        parser.add_argument(
            "--password-file", type=Path, help="read the password from this file, not a prompt"
        )

    def handle(self, *args, username: str, role: str, password_file: Path | None, **options):
        require_migrated()
        user = _existing_or_new_user(username)
        password = _read_password(password_file) if password_file else _prompt_password(username)
        try:
            # The validators see the user, so a password like the username is refused too.
            validate_password(password, user)
        except ValidationError as error:
            raise CommandError("The password is too weak: " + " ".join(error.messages)) from None
        add_staff_user(username, password, role)
        self.stdout.write(f"{username} can now log in as {role}.")


def _existing_or_new_user(username: str):
    model = get_user_model()
    return model.objects.filter(username=username).first() or model(username=username)


def _read_password(path: Path) -> str:
    try:
        return path.read_text().strip()
    except OSError as error:
        raise CommandError(f"Cannot read the password file: {error}") from None


def _prompt_password(username: str) -> str:
    password = getpass.getpass(f"Password for {username}: ")
    if getpass.getpass("The same password again: ") != password:
        raise CommandError("The two passwords differ; nothing was changed.")
    return password
