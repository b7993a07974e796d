"""Test settings: the environment-driven settings with fast password hashing."""

from chatbot.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# Worker threads would otherwise keep connections open past the test database's teardown.
DATABASES["default"]["CONN_MAX_AGE"] = 0  # noqa: F405
