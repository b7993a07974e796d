"""Each staff user lands on their own page; refusals are JSON on the APIs and one log line."""

import logging

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from chatbot.staff_users import add_staff_user
from tests.staff_sign_in import add_admin_with_second_factor, sign_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def agent_user():
    return add_staff_user("agnes", "quiet-lantern-harbour", "agent")


@pytest.fixture
def editor_user():
    return add_staff_user("eddie", "quiet-lantern-harbour", "editor")


@pytest.fixture
def signed_in_admin() -> Client:
    _, key = add_admin_with_second_factor("ada", "quiet-lantern-harbour")
    client = Client()
    sign_in(client, "ada", "quiet-lantern-harbour", key)
    return client


def logged_in(user, enforce_csrf: bool = False) -> Client:
    client = Client(enforce_csrf_checks=enforce_csrf)
    client.force_login(user)
    return client


@pytest.mark.parametrize(
    ("next_path", "heading"),
    [
        ("/console/", "Agent console"),
        ("/console/report/", "Agent console"),
        ("/knowledge/", "Knowledge editor"),
        ("/admin/", "Administration"),
        ("", "Staff sign-in"),
    ],
)
def test_the_login_page_is_headed_with_the_page_it_leads_to(db, next_path, heading):
    page = Client().get("/accounts/login/", {"next": next_path} if next_path else {})

    html = page.content.decode()
    assert f"<title>Log in · {heading}</title>" in html
    assert f"<span>{heading}</span>" in html
    if next_path != "/knowledge/":
        assert "<span>Knowledge editor</span>" not in html


def test_an_unsafe_next_page_is_not_offered_as_a_link(db):
    page = Client().get("/accounts/login/", {"next": "javascript:alert(1)"})

    assert "javascript:" not in page.content.decode().split('name="next"')[0]


@pytest.mark.parametrize(("role", "landing"), [("agent", "/console/"), ("editor", "/knowledge/")])
def test_logging_in_without_a_next_page_lands_on_the_users_own_page(role, landing):
    add_staff_user("sam", "quiet-lantern-harbour", role)

    response = Client().post(
        "/accounts/login/", {"username": "sam", "password": "quiet-lantern-harbour"}
    )

    assert response.status_code == 302 and response["Location"] == landing


def test_an_administrator_signing_in_without_a_next_page_lands_on_the_editor():
    _, key = add_admin_with_second_factor("sam", "quiet-lantern-harbour")

    response = sign_in(Client(), "sam", "quiet-lantern-harbour", key)

    assert response["Location"] == "/knowledge/"


@pytest.mark.parametrize("path", ["/admin/", "/admin/chatbot/conversation/"])
def test_agents_and_editors_opening_the_admin_are_sent_to_their_own_page(
    agent_user, editor_user, path
):
    assert logged_in(agent_user).get(path)["Location"] == "/console/"
    assert logged_in(editor_user).get(path)["Location"] == "/knowledge/"


def test_an_administrator_gets_the_admin(signed_in_admin):
    assert signed_in_admin.get("/admin/").status_code == 200


def test_a_user_without_a_role_gets_the_admins_own_refusal_not_a_redirect(db):
    paul = get_user_model().objects.create_user("paul", password="quiet-lantern-harbour")

    response = logged_in(paul).get("/admin/")

    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("post", "/knowledge/api/nodes"),
        ("patch", "/knowledge/api/nodes/country:fr"),
        ("delete", "/knowledge/api/relations/1"),
        ("post", "/knowledge/api/try"),
    ],
)
def test_a_write_to_the_api_without_the_csrf_token_is_refused_in_json(editor_user, method, path):
    client = logged_in(editor_user, enforce_csrf=True)

    response = getattr(client, method)(path, "{}", content_type="application/json")

    assert response.status_code == 403
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert (body["error"], body["reason"]) == ("forbidden", "csrf_failed")
    assert "X-CSRFToken" in body["message"]


def test_a_form_post_without_the_csrf_token_gets_the_sites_page(db):
    response = Client(enforce_csrf_checks=True).post(
        "/accounts/login/", {"username": "x", "password": "y"}
    )

    assert response.status_code == 403
    assert response["Content-Type"].startswith("text/html")
    assert "reload the page" in response.content.decode()


def test_a_refused_page_is_logged_on_one_line_without_a_traceback(editor_user, caplog):
    handler_filters = logging.getLogger("django.request").filters

    with caplog.at_level(logging.WARNING, logger="django.request"):
        response = logged_in(editor_user).get("/console/")

    assert response.status_code == 403
    (record,) = [r for r in caplog.records if r.name == "django.request"]
    assert record.levelno == logging.WARNING and "Forbidden" in record.getMessage()
    assert record.exc_info is None and record.exc_text is None
    assert handler_filters, "the refusals filter is installed on django.request"


@pytest.mark.django_db(transaction=True)
async def test_the_admin_redirect_works_for_asgi_requests_too():
    from asgiref.sync import sync_to_async
    from django.test import AsyncClient

    agent = await sync_to_async(add_staff_user)("agnes", "quiet-lantern-harbour", "agent")
    client = AsyncClient()
    await client.aforce_login(agent)

    response = await client.get("/admin/")

    assert response.status_code == 302 and response["Location"] == "/console/"
