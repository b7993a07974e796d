"""The privacy app: no models of its own; it purges, exports and erases the others' rows."""

from django.apps import AppConfig


class PrivacyConfig(AppConfig):
    name = "chatbot.privacy"
    label = "privacy"
    verbose_name = "Privacy"
