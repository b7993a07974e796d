"""Test settings: the environment-driven settings with fast password hashing."""
from chatbot.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
