from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "chatbot.api"
    label = "api"
    verbose_name = "REST API"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Registers the key scheme with drf-spectacular.
        from chatbot.api import schema  # noqa: F401
