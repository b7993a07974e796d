"""The intent-classification app."""

from django.apps import AppConfig


class NluConfig(AppConfig):
    name = "chatbot.nlu"
    label = "nlu"
    verbose_name = "Intents"
