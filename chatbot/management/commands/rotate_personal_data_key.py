"""python manage.py rotate_personal_data_key: re-encrypt kept originals with the newest key."""

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError

from chatbot import actions, personal_data_storage
from chatbot.audit import actions as audit
from knowledge.management.database_ready import require_migrated


class Command(BaseCommand):
    help = (
        "Encrypt every message original kept by PERSONAL_DATA_STORAGE=encrypt again with the "
        "first of PERSONAL_DATA_KEYS. Put the new key first, keep the old ones after it, run "
        "this, then remove the old keys (docs/personal-data.md)."
    )

    def handle(self, *args, **options):
        require_migrated()
        try:
            personal_data_storage.cipher()
        except ImproperlyConfigured as error:
            raise CommandError(str(error)) from None
        rotated, unreadable = actions.rotate_personal_data_key()
        audit.record(
            audit.PERSONAL_DATA_KEY_ROTATED,
            details={"rotated": rotated, "unreadable": unreadable},
        )
        self.stdout.write(f"{rotated} originals encrypted with the newest key.")
        if unreadable:
            raise CommandError(
                f"{unreadable} originals were encrypted with a key no longer in "
                "PERSONAL_DATA_KEYS: put that key back (after the new one) and run this again."
            )
