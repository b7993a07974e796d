"""Purge what the retention periods let go, now, printing the progress and the counts."""

import json
from collections import Counter

from django.core.management.base import BaseCommand

from chatbot.privacy import actions, retention


class Command(BaseCommand):
    help = "Delete the data older than its retention period (RETENTION_*_DAYS); print counts."

    def handle(self, *args, **options) -> None:
        for kind, days in retention.periods().items():
            kept = "kept forever" if days is None else f"{days} days"
            self.stdout.write(f"{kind}: {kept}")
        counts = actions.purge_expired(progress=self._progress)
        self.stdout.write(json.dumps(counts, indent=2, sort_keys=True))
        removed = sum(sum(by_row.values()) for by_row in counts.values())
        self.stdout.write(self.style.SUCCESS(f"Purged {removed} rows."))

    def _progress(self, kind: str, so_far: Counter) -> None:
        done = ", ".join(f"{count} {name}" for name, count in sorted(so_far.items()))
        self.stdout.write(f"  {kind}: {done}")
