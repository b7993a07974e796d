"""The OpenAPI schema validates, and every operation refuses a missing, revoked or narrow key."""

import re

import pytest
import yaml
from django.test import Client
from django.urls import resolve
from drf_spectacular.generators import SchemaGenerator
from openapi_spec_validator import validate
from rest_framework.test import APIClient

from chatbot.api.models import SCOPES, ApiKey

pytestmark = pytest.mark.django_db


def schema() -> dict:
    response = Client().get("/api/v1/schema")
    assert response.status_code == 200
    return yaml.safe_load(response.content)


def operations() -> list[tuple[str, str]]:
    # Generated in-process: parametrising happens before any test database exists.
    document = SchemaGenerator().get_schema(request=None, public=True)
    return [
        (method.upper(), path)
        for path, methods in document["paths"].items()
        for method in methods
        if method in ("get", "post", "put", "patch", "delete")
    ]


def concrete(path: str) -> str:
    # Any id will do: the key is checked before the resource is looked up.
    return re.sub(r"\{[a-z_]+\}", "1", path)


def scope_of(method: str, path: str) -> str:
    return resolve(concrete(path)).func.view_class.required_scopes[method]


def call(client: APIClient, method: str, path: str):
    return getattr(client, method.lower())(concrete(path), {}, format="json")


def test_the_schema_is_valid_openapi_and_documents_every_route():
    document = schema()

    validate(document)
    assert document["openapi"].startswith("3.")
    assert {path for _, path in operations()} == {
        "/api/v1/conversations",
        "/api/v1/conversations/{conversation_id}",
        "/api/v1/conversations/{conversation_id}/events",
        "/api/v1/conversations/{conversation_id}/messages",
        "/api/v1/handoffs",
        "/api/v1/handoffs/{handoff_id}",
        "/api/v1/handoffs/{handoff_id}/close",
        "/api/v1/tickets",
        "/api/v1/tickets/{ticket_id}",
        "/api/v1/tickets/{ticket_id}/close",
        "/api/v1/reports/handoffs",
        "/api/v1/knowledge/nodes",
        "/api/v1/knowledge/nodes/{key}",
        "/api/v1/knowledge/relations",
        "/api/v1/knowledge/relations/{relation_id}",
        "/api/v1/knowledge/changes",
        "/api/v1/intents",
        "/api/v1/intents/{name}/examples",
        "/api/v1/models",
        "/api/v1/models/{version}",
        "/api/v1/models/{version}/promote",
        "/api/v1/models/rollback",
        "/api/v1/training-runs",
        "/api/v1/training-runs/{run_id}",
        "/api/v1/webhooks/subscriptions",
        "/api/v1/webhooks/subscriptions/{subscription_id}",
        "/api/v1/webhooks/subscriptions/{subscription_id}/deliveries",
        "/api/v1/webhooks/deliveries/{delivery_id}/resend",
        "/api/v1/audit-entries",
        "/api/v1/visitors/{visitor_id}/export",
        "/api/v1/visitors/{visitor_id}/erase",
        "/api/v1/customers/{external_id}/export",
        "/api/v1/customers/{external_id}/erase",
    }
    for method, path in operations():
        operation = document["paths"][path][method.lower()]
        assert {"401", "403", "429"} <= set(operation["responses"]), (method, path)
        assert operation["security"] == [{"apiKey": []}], (method, path)
    assert document["components"]["securitySchemes"]["apiKey"]["scheme"] == "bearer"


def test_the_docs_page_and_its_script_are_served_without_inline_code():
    page = Client().get("/api/v1/docs")
    script = Client().get("/api/v1/docs", {"script": ""})

    assert page.status_code == 200 and b"swagger-ui" in page.content
    assert b"<script>" not in page.content  # the site's CSP allows no inline script
    assert b"<style" not in page.content
    assert script.status_code == 200 and b"/api/v1/schema" in script.content


@pytest.mark.parametrize(("method", "path"), operations())
def test_every_operation_refuses_a_missing_bad_revoked_or_narrow_key(method, path):
    needed = scope_of(method, path)
    others = [scope for scope in SCOPES if scope != needed]
    narrow, narrow_key = ApiKey.issue("narrow", others)
    revoked, revoked_key = ApiKey.issue("revoked", list(SCOPES))
    revoked.revoke()

    cases = {
        "missing": (None, 401),
        "not a bearer": ("Basic dXNlcjpwYXNz", 401),
        "unknown": ("Bearer cbk_not-a-key-this-server-issued", 401),
        "revoked": (f"Bearer {revoked_key}", 401),
        "without the scope": (f"Bearer {narrow_key}", 403),
    }
    for case, (header, status) in cases.items():
        client = APIClient()
        if header:
            client.credentials(HTTP_AUTHORIZATION=header)
        response = call(client, method, path)
        assert response.status_code == status, (case, response.content)
        error = response.json()["error"]
        assert error["code"] and error["message"], case
        if status == 401:
            assert response["WWW-Authenticate"].startswith("Bearer"), case


def test_a_key_is_stored_hashed_shown_once_and_records_its_last_use(api_client_with):
    client = api_client_with("reports:read")
    stored = ApiKey.objects.get(pk=client.api_key.pk)
    key = client._credentials["HTTP_AUTHORIZATION"].removeprefix("Bearer ")

    assert key not in (stored.digest, stored.prefix) and stored.prefix == key[:12]
    assert stored.last_used_at is None
    assert client.get("/api/v1/reports/handoffs").status_code == 200
    stored.refresh_from_db()
    assert stored.last_used_at is not None


def test_unknown_scopes_cannot_be_issued():
    with pytest.raises(ValueError, match="unknown scopes"):
        ApiKey.issue("typo", ["conversations:raed"])


def test_a_key_past_its_rate_limit_is_told_when_to_come_back(api_client_with, settings):
    settings.API_RATE_LIMIT = "2/minute"
    client = api_client_with("reports:read")

    statuses = [client.get("/api/v1/reports/handoffs").status_code for _ in range(3)]

    assert statuses == [200, 200, 429]
    error = client.get("/api/v1/reports/handoffs").json()["error"]
    assert error["code"] == "throttled" and error["details"]["retry_after"] > 0
    # Another key has its own budget.
    assert api_client_with("reports:read").get("/api/v1/reports/handoffs").status_code == 200
