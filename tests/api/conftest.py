"""An API client holding a key with the scopes a test gives it."""

import pytest
from rest_framework.test import APIClient

from chatbot.api.models import SCOPES, ApiKey


class KeyedClient(APIClient):
    """An APIClient that sends `Authorization: Bearer <key>` with every request."""

    def __init__(self, key: str, api_key: ApiKey) -> None:
        super().__init__()
        self.api_key = api_key
        self.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")


@pytest.fixture
def api_client_with(db):
    """Make a client whose key has the given scopes (all of them by default)."""

    def make(*scopes: str, name: str = "crm") -> KeyedClient:
        api_key, key = ApiKey.issue(name, list(scopes or SCOPES))
        return KeyedClient(key, api_key)

    return make


@pytest.fixture
def api(api_client_with) -> KeyedClient:
    return api_client_with()
