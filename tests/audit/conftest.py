"""The API key client fixtures, shared with the API tests."""

from tests.api.conftest import api_client_with  # noqa: F401
