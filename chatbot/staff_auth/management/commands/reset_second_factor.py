"""python manage.py reset_second_factor USERNAME: for a user who lost their authenticator."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from chatbot.staff_auth import actions


class Command(BaseCommand):
    help = (
        "Remove a staff user's second factor and end all their sessions, for one who lost "
        "their phone. An administrator enrols a new one at their next sign-in."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("username")

    def handle(self, *args, username: str, **options) -> None:
        user_model = get_user_model()
        user = user_model._default_manager.filter(**{user_model.USERNAME_FIELD: username}).first()
        if user is None:
            raise CommandError(f"No user is called {username!r}.")
        removed = actions.reset_second_factor(user)
        then = "enrols a new one at their next sign-in" if user.is_superuser else "may enrol again"
        self.stdout.write(
            f"Removed {removed} second factor(s) of {username} and ended their sessions; "
            f"they sign in with their password and {then}."
        )
