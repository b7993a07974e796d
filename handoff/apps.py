"""The human handoff app."""

from django.apps import AppConfig


class HandoffConfig(AppConfig):
    name = "handoff"
    verbose_name = "Human handoff"

    def ready(self) -> None:
        from handoff import checks  # noqa: F401  (registers the settings checks)
