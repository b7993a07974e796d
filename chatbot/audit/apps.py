"""The audit app."""

from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "chatbot.audit"
    label = "audit"
    verbose_name = "Audit trail"
    default_auto_field = "django.db.models.BigAutoField"
