"""Sessions end when idle, and all at once when their user signs out everywhere; the agent
console's open socket closes with them."""

import pytest
from channels.db import database_sync_to_async
from django.conf import settings
from django.contrib.sessions.backends.db import SessionStore
from django.test import Client

from chatbot.audit import actions as audit
from chatbot.audit.models import AuditEntry
from chatbot.staff_auth.sessions import LAST_ACTIVITY
from chatbot.staff_users import add_staff_user
from tests.handoff.console_client import ConsoleClient
from tests.staff_auth.conftest import PASSWORD, actions_recorded, password_step

CLOSE_SESSION_ENDED = 4401
IDLE_MESSAGE = "You were signed out after a while without activity."


@pytest.fixture(autouse=True)
def twenty_minutes_idle(settings):
    settings.STAFF_IDLE_TIMEOUT_MINUTES = 20


def signed_in_agent_client() -> Client:
    client = Client()
    assert password_step(client, "agnes").status_code == 302
    return client


def cookie_of(client: Client) -> str:
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"


@pytest.mark.django_db
def test_a_session_idle_past_the_timeout_lands_on_sign_in_with_a_message(clock, agnes):
    # Given agnes signed in, then away for just over twenty minutes
    client = signed_in_agent_client()
    clock.advance(minutes=20, seconds=1)

    # When she opens the console
    response = client.get("/console/")

    # Then she is sent to sign in, told why, and the sign-out is recorded
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/console/"
    assert IDLE_MESSAGE in client.get(response["Location"]).content.decode()
    entry = AuditEntry.objects.get(action=audit.SIGN_OUT)
    assert (entry.actor_name, entry.details) == ("agnes", {"reason": "idle"})


@pytest.mark.django_db
def test_an_idle_session_is_refused_by_the_json_endpoints_too(clock, agnes):
    client = signed_in_agent_client()
    clock.advance(minutes=21)

    response = client.get("/console/api/report")

    assert response.status_code == 403 and response.json()["reason"] == "login_required"


@pytest.mark.django_db
def test_requests_within_the_timeout_keep_the_session_going(clock, agnes):
    # Given agnes working: a request every fifteen minutes for an hour
    client = signed_in_agent_client()
    for _ in range(4):
        clock.advance(minutes=15)
        assert client.get("/console/").status_code == 200

    # Then nothing ended her session
    assert audit.SIGN_OUT not in actions_recorded()


@pytest.mark.django_db
def test_signing_out_is_recorded(clock, agnes):
    client = signed_in_agent_client()

    response = client.post("/accounts/logout/")

    assert response["Location"] == "/accounts/login/"
    assert client.get("/console/").status_code == 302
    assert AuditEntry.objects.get(action=audit.SIGN_OUT).details == {"reason": "requested"}


@pytest.mark.django_db
def test_signing_out_everywhere_ends_the_sessions_of_every_browser(clock, agnes):
    # Given agnes signed in on two browsers, and eddie on his
    office, laptop = signed_in_agent_client(), signed_in_agent_client()
    add_staff_user("eddie", PASSWORD, "editor")
    eddie = Client()
    password_step(eddie, "eddie")

    # When she signs out everywhere from her laptop
    response = laptop.post("/accounts/sign-out-everywhere/")

    # Then both her sessions have ended, with a message, and eddie's goes on
    assert response["Location"] == "/accounts/login/"
    assert laptop.get("/console/").status_code == 302
    refused = office.get("/console/")
    assert refused["Location"] == "/accounts/login/?next=/console/"
    assert "You were signed out everywhere." in office.get(refused["Location"]).content.decode()
    assert eddie.get("/knowledge/").status_code == 200
    entry = AuditEntry.objects.get(action=audit.SIGN_OUT_EVERYWHERE)
    assert (entry.actor_name, entry.target_id) == ("agnes", str(agnes.pk))

    # And she can sign in again afresh
    again = signed_in_agent_client()
    assert again.get("/console/").status_code == 200


@pytest.mark.django_db
def test_signing_out_everywhere_needs_a_post_with_the_csrf_token(clock, agnes):
    client = Client(enforce_csrf_checks=True)
    password_step_with_token(client)

    assert client.get("/accounts/sign-out-everywhere/").status_code == 405
    assert client.post("/accounts/sign-out-everywhere/").status_code == 403
    assert client.get("/console/").status_code == 200
    assert audit.SIGN_OUT_EVERYWHERE not in actions_recorded()


def password_step_with_token(client: Client) -> None:
    client.get("/accounts/login/")
    token = client.cookies[settings.CSRF_COOKIE_NAME].value
    response = client.post(
        "/accounts/login/",
        {"username": "agnes", "password": PASSWORD, "csrfmiddlewaretoken": token},
    )
    assert response.status_code == 302


# The console's socket ---------------------------------------------------------------------


async def open_console(cookie: str) -> ConsoleClient:
    console = ConsoleClient(cookie)
    connected, _ = await console.connect()
    assert connected
    await console.receive_until("queue")
    return console


async def close_code(console: ConsoleClient) -> int:
    """Return the code the server closed the socket with, skipping frames sent before."""
    while True:
        output = await console.communicator.receive_output(timeout=15)
        if output["type"] == "websocket.close":
            return output.get("code")


@pytest.mark.websocket
@pytest.mark.django_db(transaction=True)
async def test_signing_out_everywhere_closes_the_users_open_console_socket(clock, agnes, settings):
    # Given agnes's console open in one browser (which checks its session only hourly)
    settings.STAFF_SESSION_CHECK_SECONDS = 3600
    office = await database_sync_to_async(signed_in_agent_client)()
    console = await open_console(cookie_of(office))

    # When she signs out everywhere from another browser
    laptop = await database_sync_to_async(signed_in_agent_client)()
    await database_sync_to_async(laptop.post)("/accounts/sign-out-everywhere/")

    # Then the console's socket is closed at once as a session that ended
    assert await close_code(console) == CLOSE_SESSION_ENDED

    # And it cannot connect again with that session
    again = ConsoleClient(cookie_of(office))
    assert await again.connect() == (False, 4403)


@pytest.mark.websocket
@pytest.mark.django_db(transaction=True)
async def test_an_idle_console_socket_is_closed(clock, agnes, settings):
    settings.STAFF_SESSION_CHECK_SECONDS = 0.05
    client = await database_sync_to_async(signed_in_agent_client)()
    console = await open_console(cookie_of(client))

    clock.advance(minutes=20, seconds=1)

    assert await close_code(console) == CLOSE_SESSION_ENDED


@pytest.mark.websocket
@pytest.mark.django_db(transaction=True)
async def test_an_idle_session_cannot_open_the_console_socket(clock, agnes):
    client = await database_sync_to_async(signed_in_agent_client)()
    clock.advance(minutes=21)

    assert await ConsoleClient(cookie_of(client)).connect() == (False, 4403)


@pytest.mark.websocket
@pytest.mark.django_db(transaction=True)
async def test_an_unverified_admin_session_cannot_open_the_console_socket(clock, ada_and_key):
    from tests.handoff.console_client import session_cookie

    ada, _ = ada_and_key
    cookie = await database_sync_to_async(session_cookie)(ada)

    assert await ConsoleClient(cookie).connect() == (False, 4403)


@pytest.mark.websocket
@pytest.mark.django_db(transaction=True)
async def test_a_verified_admin_opens_the_console_socket(clock, ada_and_key):
    _, key = ada_and_key
    client = Client()

    def sign_in_with_code() -> None:
        password_step(client, "ada")
        client.post("/accounts/login/code/", {"code": clock.code(key)})

    await database_sync_to_async(sign_in_with_code)()
    console = await open_console(cookie_of(client))
    await console.close()


@pytest.mark.websocket
@pytest.mark.django_db(transaction=True)
async def test_the_agents_console_actions_count_as_activity_but_its_heartbeat_does_not(
    clock, agnes, settings
):
    # Given agnes's console open for ten minutes
    settings.STAFF_SESSION_CHECK_SECONDS = 3600
    client = await database_sync_to_async(signed_in_agent_client)()
    session_key = client.cookies[settings.SESSION_COOKIE_NAME].value
    signed_in_at = clock.timestamp()
    console = await open_console(cookie_of(client))
    clock.advance(minutes=10)

    # When only the heartbeat comes, then her last activity stays at sign-in
    await console.send({"type": "ping"})
    await console.receive_until("pong")
    assert await last_activity(session_key) == signed_in_at

    # When she goes offline in the console, then that is activity
    await console.send({"type": "availability", "online": False})
    await console.receive_until("hello")
    assert await last_activity(session_key) == clock.timestamp()

    # And fifteen minutes later (25 after signing in) her pages still open
    clock.advance(minutes=15)
    response = await database_sync_to_async(client.get)("/console/")
    assert response.status_code == 200
    await console.close()


@database_sync_to_async
def last_activity(session_key: str) -> float:
    return SessionStore(session_key)[LAST_ACTIVITY]
