"""The webhooks app."""

from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "chatbot.webhooks"
    label = "webhooks"
    verbose_name = "Webhooks"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Connects to the domains' signals: the graph's new versions become knowledge.changed.
        from chatbot.webhooks import receivers  # noqa: F401
