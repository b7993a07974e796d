"""python manage.py add_staff_user NAME --role editor|agent|admin [--password-file F]"""

import getpass
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from knowledge.roles import ROLES, add_staff_user


class Command(BaseCommand):
    help = (
        "Create a user of the knowledge editor (editor), the agent console (agent) or both (admin)."  # noqa: E501
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("username")
        parser.add_argument("--role", choices=sorted(ROLES), required=True)
        parser.add_argument(
            "--password-file", type=Path, help="read the password from this file, not a prompt"
        )

    def handle(self, *args, username: str, role: str, password_file: Path | None, **options):
        if password_file:
            password = password_file.read_text().strip()
        else:
            password = getpass.getpass(f"Password for {username}: ")
        if len(password) < 8:
            raise CommandError("The password needs at least 8 characters.")
        add_staff_user(username, password, role)
        self.stdout.write(f"{username} can now log in as {role}.")
