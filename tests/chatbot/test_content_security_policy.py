"""Every page the platform serves carries a strict Content-Security-Policy, and no template needs
inline code to work under it."""

import re
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import Client, override_settings

from chatbot.content_security_policy import build_policy
from chatbot.envvars import env_csp_sources
from chatbot.staff_users import add_staff_user
from tests.live_server import REPO_ROOT
from tests.staff_sign_in import add_admin_with_second_factor, sign_in

ADMIN = ("ada", "ada-runs-the-platform")
EDITOR = ("erin", "erin-edits-the-graph")

STRICT_POLICY = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'"],
    "img-src": ["'self'"],
    "font-src": ["'self'"],
    "connect-src": ["'self'", "ws://testserver", "wss://testserver"],
    "object-src": ["'none'"],
    "base-uri": ["'none'"],
    "form-action": ["'self'"],
    "frame-ancestors": ["'none'"],
}

TEMPLATE_FOLDERS = [
    "chatbot/templates",
    "chatbot/staff_auth/templates",
    "knowledge/templates",
    "handoff/templates",
]
INLINE_CODE = {
    "an inline <script>": re.compile(r"<script(?![^>]*\ssrc=)[^>]*>", re.IGNORECASE),
    "a <style> element": re.compile(r"<style\b", re.IGNORECASE),
    "a style attribute": re.compile(r"\sstyle\s*=", re.IGNORECASE),
    "an event handler attribute": re.compile(r"\son[a-z]+\s*=", re.IGNORECASE),
    "a javascript: URL": re.compile(r"javascript:", re.IGNORECASE),
    "a data: URL": re.compile(r"[\"']data:", re.IGNORECASE),
}


def directives(header: str) -> dict[str, list[str]]:
    """Return a policy's directives by name, each with its sources in order."""
    parsed = {}
    for directive in filter(None, (part.strip() for part in header.split(";"))):
        name, *sources = directive.split()
        parsed[name] = sources
    return parsed


def logged_in_client(credentials: tuple[str, str], role: str) -> Client:
    key = None
    if role == "admin":
        _, key = add_admin_with_second_factor(*credentials)
    else:
        add_staff_user(credentials[0], credentials[1], role)
    client = Client()
    sign_in(client, *credentials, key)
    return client


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path",
    ["/", "/accounts/login/", "/static/chatbot/widget.js"],
)
def test_a_public_page_sends_the_strict_policy(client, path):
    response = client.get(path)

    assert response.status_code == 200
    assert directives(response["Content-Security-Policy"]) == STRICT_POLICY


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/knowledge/", "/console/", "/console/report/", "/admin/"])
def test_a_staff_page_sends_the_strict_policy(path):
    client = logged_in_client(ADMIN, "admin")

    response = client.get(path)

    assert response.status_code == 200
    assert directives(response["Content-Security-Policy"]) == STRICT_POLICY


@pytest.mark.django_db
def test_the_forbidden_page_sends_the_strict_policy_too():
    client = logged_in_client(EDITOR, "editor")

    response = client.get("/console/")

    assert response.status_code == 403
    assert directives(response["Content-Security-Policy"]) == STRICT_POLICY


@pytest.mark.django_db
def test_the_websocket_sources_follow_the_host_the_page_was_asked_for(client):
    response = client.get("/", HTTP_HOST="127.0.0.1:8123")

    connect = directives(response["Content-Security-Policy"])["connect-src"]
    assert connect == ["'self'", "ws://127.0.0.1:8123", "wss://127.0.0.1:8123"]


@pytest.mark.django_db
@override_settings(CSP_CONNECT_SRC=["wss://chat.example.com"])
def test_an_operator_adds_a_separate_chat_host_to_connect_src(client):
    response = client.get("/")

    connect = directives(response["Content-Security-Policy"])["connect-src"]
    assert connect == ["'self'", "ws://testserver", "wss://testserver", "wss://chat.example.com"]


def test_the_connect_sources_are_read_from_commas_or_spaces_and_self_may_go_unquoted(monkeypatch):
    monkeypatch.setenv("CSP_CONNECT_SRC", "wss://chat.example.com, https://api.example.com self")

    sources = env_csp_sources("CSP_CONNECT_SRC", [])

    assert sources == ["wss://chat.example.com", "https://api.example.com", "'self'"]


@pytest.mark.parametrize(
    "value",
    ["wss://chat.example.com; script-src *", "'unsafe-inline'", 'wss://chat.example.com/"x'],
)
def test_a_value_that_is_no_source_stops_start_up_with_the_variable_named(monkeypatch, value):
    monkeypatch.setenv("CSP_CONNECT_SRC", value)

    with pytest.raises(ImproperlyConfigured, match="CSP_CONNECT_SRC"):
        env_csp_sources("CSP_CONNECT_SRC", [])


def test_nginx_sends_the_same_policy_on_what_it_serves_itself():
    config = Path(REPO_ROOT, "deploy/nginx.conf").read_text()

    nginx_policy = re.search(r'set \$content_security_policy "([^"]+)";', config).group(1)

    assert nginx_policy == build_policy("$host", [])


@pytest.mark.parametrize(
    "template",
    sorted(
        str(path.relative_to(REPO_ROOT))
        for folder in TEMPLATE_FOLDERS
        for path in Path(REPO_ROOT, folder).rglob("*.html")
    ),
)
def test_no_template_holds_inline_code_the_policy_would_block(template):
    text = Path(REPO_ROOT, template).read_text()

    found = [what for what, pattern in INLINE_CODE.items() if pattern.search(text)]

    assert found == []
