"""The staff sign-in app."""

from django.apps import AppConfig


class StaffAuthConfig(AppConfig):
    name = "chatbot.staff_auth"
    label = "staff_auth"
    verbose_name = "Staff sign-in"
    default_auto_field = "django.db.models.BigAutoField"
