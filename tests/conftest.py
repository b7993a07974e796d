"""Fixtures shared by every test."""

import pytest
from channels.layers import channel_layers
from django.conf import settings


@pytest.fixture(autouse=True)
def fresh_channel_layer():
    """Give every test its own channel layer, bound to that test's event loop."""
    channel_layers.backends.clear()
    yield
    channel_layers.backends.clear()


@pytest.fixture
def requires_services():
    """Skip, with the reason, unless PostgreSQL and Redis are configured."""
    if not settings.REDIS_URL or settings.DATABASES["default"]["ENGINE"].endswith("sqlite3"):
        pytest.skip("needs DATABASE_URL (PostgreSQL) and REDIS_URL: `make test-services` sets them")
