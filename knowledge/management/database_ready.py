"""A management command's first check: is the database set up?

Kept at the bottom layer (the knowledge app imports no other) so that the commands of every app
can use it. Without it, a command run before `migrate` dies in an OperationalError about a
missing table; with it, the user is told what to run.
"""

from django.core.management.base import CommandError
from django.db import DatabaseError, connections
from django.db.migrations.executor import MigrationExecutor


def require_migrated(database: str = "default") -> None:
    """Raise CommandError naming `migrate` when migrations are not applied, or the DB is down."""
    try:
        executor = MigrationExecutor(connections[database])
        unapplied = executor.migration_plan(executor.loader.graph.leaf_nodes())
    except DatabaseError as error:
        raise CommandError(f"The database does not answer: {error}") from None
    if unapplied:
        apps = sorted({migration.app_label for migration, _ in unapplied})
        raise CommandError(
            f"The database is not set up: {len(unapplied)} migration(s) of {', '.join(apps)} "
            "are not applied. Run `python manage.py migrate` first."
        )
