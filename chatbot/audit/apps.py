"""The audit app."""

from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "chatbot.audit"
    label = "audit"
    verbose_name = "Audit trail"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Role changes and the admin's changes, however they are made.
        from chatbot.audit import receivers  # noqa: F401
