"""The conversation app."""

from django.apps import AppConfig


class ChatbotConfig(AppConfig):
    name = "chatbot"
    verbose_name = "Conversations"

    def ready(self) -> None:
        from chatbot.log_filters import mask_on_every_handler

        # After LOGGING is applied, before anything is served: no handler writes personal data.
        mask_on_every_handler()
