"""A card number typed in the widget, through the real websocket, in each storage mode: what the
database keeps, what the ack says, what a webhook, the API and the agent's console show, and who
may read the original (audited)."""

import io
import json
import os
import subprocess
import sys

import pytest
from channels.db import database_sync_to_async
from cryptography.fernet import Fernet
from django.contrib.auth.models import Permission, User
from django.core.exceptions import ImproperlyConfigured
from django.core.management import CommandError, call_command

from chatbot import actions, personal_data_storage
from chatbot.api.models import ApiKey
from chatbot.audit.actions import PERSONAL_DATA_KEY_ROTATED, PERSONAL_DATA_REVEALED
from chatbot.audit.models import AuditEntry
from chatbot.models import Event
from chatbot.webhooks import outbox
from chatbot.webhooks.models import WebhookEvent
from handoff import actions as handoff_actions
from tests.chatbot.socket_client import WidgetClient
from tests.handoff.conftest import new_agent
from tests.handoff.console_client import ConsoleClient, session_cookie
from tests.live_server import REPO_ROOT
from tests.webhooks.conftest import subscribe

pytestmark = [pytest.mark.websocket, pytest.mark.django_db(transaction=True)]

CARD = "4111 1111 1111 1111"
TYPED = f"my card {CARD} was charged twice"
MASKED = "my card [card number ending 1111] was charged twice"
NOTICE = "We hid your card number: never share it in chat."
KEY = Fernet.generate_key().decode()


@pytest.fixture
def storage(settings):
    """Choose PERSONAL_DATA_STORAGE for the test, with a key when it encrypts."""

    def use(mode: str) -> None:
        settings.PERSONAL_DATA_STORAGE = mode
        settings.PERSONAL_DATA_KEYS = [KEY] if mode == "encrypt" else []

    return use


async def visitor_says(text: str) -> tuple[WidgetClient, dict]:
    visitor = WidgetClient()
    assert await visitor.connect()
    await visitor.hello()
    ack = await visitor.say(text)
    await visitor.receive_answer()
    return visitor, ack


@database_sync_to_async
def stored_visitor_message(conversation_id: str) -> Event:
    return Event.objects.get(conversation_id=conversation_id, author="visitor", kind="message")


def api_events(conversation_id: str) -> str:
    from rest_framework.test import APIClient

    _, key = ApiKey.issue("crm", ["conversations:read"])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    response = client.get(f"/api/v1/conversations/{conversation_id}/events")
    assert response.status_code == 200, response.content
    return response.content.decode()


@pytest.mark.parametrize("mode", ["mask", "encrypt", "keep"])
async def test_a_typed_card_number_is_stored_shown_and_sent_on_only_masked(
    storage, mode, monkeypatch
):
    storage(mode)
    await database_sync_to_async(subscribe)()
    # What a subscriber would be sent is the stored payload; sending it is tested elsewhere.
    monkeypatch.setattr(outbox, "_send_after_commit", lambda line_ids: None)

    visitor, ack = await visitor_says(TYPED)

    assert (ack["masked"], ack["text"], ack["notice"]) == (["card_number"], MASKED, NOTICE)
    event = await stored_visitor_message(visitor.conversation_id)
    assert (event.text, event.data) == (MASKED, {"masked": ["card_number"]})
    if mode == "mask":
        assert (event.original_text, event.original_encrypted) == ("", "")
    elif mode == "keep":
        assert (event.original_text, event.original_encrypted) == (TYPED, "")
    else:
        assert event.original_text == "" and CARD not in event.original_encrypted
        assert Fernet(KEY.encode()).decrypt(event.original_encrypted.encode()).decode() == TYPED
    webhook_payloads = await database_sync_to_async(
        lambda: [row.data for row in WebhookEvent.objects.filter(type="message.created")]
    )()
    visitor_payload = next(data for data in webhook_payloads if data["author"] == "visitor")
    assert (visitor_payload["text"], visitor_payload["masked"]) == (MASKED, ["card_number"])
    assert "4111" not in json.dumps(webhook_payloads)
    read_by_api = await database_sync_to_async(api_events)(visitor.conversation_id)
    assert MASKED in read_by_api and "4111" not in read_by_api
    await visitor.close()


async def test_a_reconnecting_widget_is_replayed_the_masked_text(storage):
    storage("keep")
    visitor, _ = await visitor_says(TYPED)
    await visitor.close()

    again = WidgetClient()
    assert await again.connect()
    frames = await again.hello(token=visitor.token)

    replayed = [f for f in frames if f["type"] == "event" and f["author"] == "visitor"]
    assert [(f["text"], f["data"]) for f in replayed] == [(MASKED, {"masked": ["card_number"]})]
    assert "4111" not in json.dumps(frames)
    await again.close()


async def test_a_message_without_personal_data_is_acknowledged_as_before(storage):
    storage("encrypt")

    visitor, ack = await visitor_says("how do I top up by card?")

    assert set(ack) == {"type", "client_id", "seq", "duplicate"}
    event = await stored_visitor_message(visitor.conversation_id)
    assert (event.text, event.data, event.original_encrypted) == (
        "how do I top up by card?",
        {},
        "",
    )
    await visitor.close()


# The agent's console ---------------------------------------------------------------------------


def agent_with_the_conversation(conversation_id: str, username: str, may_reveal: bool):
    """An agent (allowed to reveal or not) to whom the conversation is assigned."""
    agent = new_agent(username)
    if may_reveal:
        agent.user.user_permissions.add(
            Permission.objects.get(
                codename="reveal_personal_data", content_type__app_label="chatbot"
            )
        )
    handoff = handoff_actions.request_handoff(conversation_id, "requested")
    handoff_actions.accept(handoff.pk, agent)
    return agent, handoff.pk


async def console_of(user) -> tuple[ConsoleClient, dict, dict]:
    """Open the user's console; return it, its hello and the packet of their conversation."""
    console = ConsoleClient(await database_sync_to_async(session_cookie)(user))
    connected, _ = await console.connect()
    assert connected
    hello = await console.receive()
    assigned = (await console.receive_until("assigned"))[-1]
    await console.receive_until("queue")
    return console, hello, assigned["packet"]


def reveal_entries() -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(action=PERSONAL_DATA_REVEALED))


@pytest.mark.parametrize("mode", ["encrypt", "keep"])
async def test_an_agent_whose_role_allows_it_reveals_the_original_and_the_reading_is_audited(
    storage, mode
):
    storage(mode)
    visitor, ack = await visitor_says(TYPED)
    agent, handoff_id = await database_sync_to_async(agent_with_the_conversation)(
        visitor.conversation_id, "anna", may_reveal=True
    )
    console, hello, packet = await console_of(agent.user)
    transcript = [e for e in packet["transcript"] if e["author"] == "visitor"]
    assert hello["may_reveal"] is True
    assert [e["text"] for e in transcript] == [MASKED]
    assert "4111" not in json.dumps(packet)

    await console.send({"type": "reveal", "handoff_id": handoff_id, "seq": ack["seq"]})
    revealed = await console.receive_until("revealed")

    assert revealed[-1] == {
        "type": "revealed",
        "handoff_id": handoff_id,
        "seq": ack["seq"],
        "text": TYPED,
    }
    event = await stored_visitor_message(visitor.conversation_id)
    entries = await database_sync_to_async(reveal_entries)()
    assert [
        (e.actor_name, e.target_type, e.target_id, e.details["seq"], e.details["kinds"])
        for e in entries
    ] == [("anna", "event", str(event.pk), ack["seq"], ["card_number"])]
    assert "4111" not in json.dumps(entries[0].details)
    await console.close()
    await visitor.close()


async def test_an_agent_without_the_permission_is_refused_and_nothing_is_revealed_or_audited(
    storage,
):
    storage("encrypt")
    visitor, ack = await visitor_says(TYPED)
    agent, handoff_id = await database_sync_to_async(agent_with_the_conversation)(
        visitor.conversation_id, "ben", may_reveal=False
    )
    console, hello, _ = await console_of(agent.user)
    assert hello["may_reveal"] is False

    await console.send({"type": "reveal", "handoff_id": handoff_id, "seq": ack["seq"]})
    refused = await console.receive_until("error")

    assert (refused[-1]["code"], refused[-1]["handoff_id"]) == ("forbidden", handoff_id)
    assert not any(frame["type"] == "revealed" for frame in refused)
    assert "4111" not in json.dumps(refused)
    assert await database_sync_to_async(reveal_entries)() == []
    await console.close()
    await visitor.close()


async def test_an_allowed_agent_cannot_reveal_a_message_of_a_conversation_not_theirs(storage):
    storage("keep")
    theirs, _ = await visitor_says("hello there")
    other, other_ack = await visitor_says(TYPED)
    agent, handoff_id = await database_sync_to_async(agent_with_the_conversation)(
        theirs.conversation_id, "anna", may_reveal=True
    )
    console, _, _ = await console_of(agent.user)

    # Their handoff's id with the other conversation's message number: not that message.
    await console.send({"type": "reveal", "handoff_id": handoff_id, "seq": other_ack["seq"]})
    answer = await console.receive_until("error")

    assert answer[-1]["code"] in ("not_found", "no_original")
    assert "4111" not in json.dumps(answer)
    assert await database_sync_to_async(reveal_entries)() == []
    await console.close()
    await theirs.close()
    await other.close()


async def test_in_mask_mode_there_is_no_original_to_reveal(storage):
    storage("mask")
    visitor, ack = await visitor_says(TYPED)
    admin = await database_sync_to_async(User.objects.create_superuser)("ada", password="x")
    agent, handoff_id = await database_sync_to_async(agent_with_the_conversation)(
        visitor.conversation_id, "anna", may_reveal=True
    )
    console, hello, _ = await console_of(agent.user)
    assert hello["may_reveal"] is False  # nothing is kept to reveal

    await console.send({"type": "reveal", "handoff_id": handoff_id, "seq": ack["seq"]})
    answer = await console.receive_until("error")

    assert answer[-1]["code"] == "no_original"
    assert await database_sync_to_async(reveal_entries)() == []
    assert admin.has_perm(personal_data_storage.REVEAL_PERMISSION)
    await console.close()
    await visitor.close()


async def test_a_card_number_an_agent_types_is_masked_for_the_visitor_but_a_helpline_is_not(
    storage,
):
    storage("keep")
    visitor, _ = await visitor_says("hello")
    agent, handoff_id = await database_sync_to_async(agent_with_the_conversation)(
        visitor.conversation_id, "anna", may_reveal=False
    )
    console, _, _ = await console_of(agent.user)

    await console.send(
        {
            "type": "message",
            "handoff_id": handoff_id,
            "client_id": "a-1",
            "text": f"Is it {CARD}? If not, call us on 0800 123 4567.",
        }
    )
    while (frame := await visitor.receive())["type"] != "event" or frame["author"] != "agent":
        pass

    assert frame["text"] == "Is it [card number ending 1111]? If not, call us on 0800 123 4567."
    assert frame["data"]["masked"] == ["card_number"]
    await console.close()
    await visitor.close()


# Settings --------------------------------------------------------------------------------------


@pytest.mark.parametrize("keys", [[], ["not a key"], [KEY, "short"]])
def test_encrypt_without_a_valid_key_fails_loudly_and_stores_nothing(settings, keys):
    settings.PERSONAL_DATA_STORAGE = "encrypt"
    settings.PERSONAL_DATA_KEYS = keys

    with pytest.raises(ImproperlyConfigured, match="PERSONAL_DATA_KEYS"):
        personal_data_storage.protect(TYPED)


def test_an_old_key_still_reads_what_it_encrypted_after_a_new_key_is_put_first(settings):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.PERSONAL_DATA_STORAGE = "encrypt"
    settings.PERSONAL_DATA_KEYS = [old]
    stored = personal_data_storage.protect(TYPED).original_encrypted

    settings.PERSONAL_DATA_KEYS = [new, old]
    rotated = personal_data_storage.rotated(stored)
    settings.PERSONAL_DATA_KEYS = [new]

    assert personal_data_storage.original("", rotated) == TYPED
    with pytest.raises(personal_data_storage.UnreadableOriginal):
        personal_data_storage.original("", stored)


# Rotating the key ------------------------------------------------------------------------------


def stored_with_key(settings, key: str, text: str) -> Event:
    settings.PERSONAL_DATA_STORAGE, settings.PERSONAL_DATA_KEYS = "encrypt", [key]
    conversation = actions.open_conversation(actions.create_visitor().pk)
    event, _ = actions.record_visitor_message(conversation.pk, "c-1", text)
    return event


def test_rotating_the_key_re_encrypts_every_original_with_the_new_key_and_is_audited(settings):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    first = stored_with_key(settings, old, TYPED)
    second = stored_with_key(settings, old, "my IBAN is GB82 WEST 1234 5698 7654 32")
    settings.PERSONAL_DATA_KEYS = [new, old]

    call_command("rotate_personal_data_key", stdout=io.StringIO())

    settings.PERSONAL_DATA_KEYS = [new]
    first.refresh_from_db()
    second.refresh_from_db()
    assert personal_data_storage.original("", first.original_encrypted) == TYPED
    assert first.text == MASKED
    assert "GB82" in personal_data_storage.original("", second.original_encrypted)
    (entry,) = AuditEntry.objects.filter(action=PERSONAL_DATA_KEY_ROTATED)
    assert entry.details == {"rotated": 2, "unreadable": 0}


def test_rotating_without_the_old_key_changes_nothing_and_says_what_to_do(settings):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    event = stored_with_key(settings, old, TYPED)
    settings.PERSONAL_DATA_KEYS = [new]

    with pytest.raises(CommandError, match="put that key back"):
        call_command("rotate_personal_data_key", stdout=io.StringIO())

    stored = Event.objects.get(pk=event.pk).original_encrypted
    assert stored == event.original_encrypted


def test_rotating_without_any_key_is_refused(settings):
    settings.PERSONAL_DATA_STORAGE, settings.PERSONAL_DATA_KEYS = "encrypt", []

    with pytest.raises(CommandError, match="PERSONAL_DATA_KEYS"):
        call_command("rotate_personal_data_key", stdout=io.StringIO())


# Other ways text comes in ----------------------------------------------------------------------


def test_a_message_left_for_the_team_is_stored_masked_with_its_contact_as_given(settings):
    from handoff.models import Handoff, Ticket

    settings.PERSONAL_DATA_STORAGE = "keep"
    conversation = actions.open_conversation(actions.create_visitor().pk)
    handoff = handoff_actions.request_handoff(conversation.pk, "requested")
    Handoff.objects.filter(pk=handoff.pk).update(status=Handoff.Status.UNAVAILABLE)

    handoff_actions.leave_message(conversation.pk, f"please call, card {CARD}", "ada@example.com")

    ticket = Ticket.objects.get(conversation=conversation)
    assert (ticket.text, ticket.contact) == (
        "please call, card [card number ending 1111]",
        "ada@example.com",
    )


def test_an_integration_s_message_is_masked_of_financial_data_but_keeps_the_bank_s_helpline(
    settings,
):
    settings.PERSONAL_DATA_STORAGE = "mask"
    conversation = actions.open_conversation(actions.create_visitor().pk)

    event, _ = actions.record_integration_message(
        conversation.pk, "n-1", f"Card {CARD} was blocked. Questions? 0800 123 4567", "crm"
    )

    assert event.text == "Card [card number ending 1111] was blocked. Questions? 0800 123 4567"
    assert event.data == {"source": "crm", "masked": ["card_number"]}


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ({"PERSONAL_DATA_STORAGE": "encrypt"}, "PERSONAL_DATA_STORAGE=encrypt needs"),
        (
            {"PERSONAL_DATA_STORAGE": "encrypt", "PERSONAL_DATA_KEYS": "hunter2-not-a-key"},
            "PERSONAL_DATA_KEYS: key number 1 is not a Fernet key",
        ),
        ({"PERSONAL_DATA_STORAGE": "scramble"}, "PERSONAL_DATA_STORAGE must be one of"),
    ],
)
def test_the_server_refuses_to_start_without_a_usable_storage_setting(tmp_path, variables, message):
    environment = {**os.environ, "VAR_DIR": str(tmp_path), **variables}
    environment.pop("DJANGO_SETTINGS_MODULE", None)
    if "PERSONAL_DATA_KEYS" not in variables:
        environment.pop("PERSONAL_DATA_KEYS", None)

    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=REPO_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode != 0
    assert message in result.stderr
    assert "hunter2" not in result.stderr, "a key is never printed"
