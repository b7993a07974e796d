"""A customer the company's website signed in: their conversation follows them; forgeries fail."""

import time

import pytest
from channels.db import database_sync_to_async

from chatbot.identity import sign_identity
from chatbot.models import Conversation, Event, Visitor
from handoff.models import Handoff
from handoff.packet import handoff_packet
from tests.chatbot.socket_client import WidgetClient, events_in

pytestmark = [pytest.mark.websocket, pytest.mark.django_db(transaction=True)]

SECRET = "the-bank-website-secret"


@pytest.fixture(autouse=True)
def identity_secret(settings):
    settings.CHAT_IDENTITY_SECRET = SECRET


def identity_of(user_id: str = "customer-42", secret: str = SECRET, **fields) -> dict:
    identity = {
        "user_id": user_id,
        "name": "Ada Lovelace",
        "email": "ada@example.com",
        "issued_at": int(time.time()) - 5,
        **fields,
    }
    identity["signature"] = sign_identity(
        secret, user_id, identity["name"], identity["email"], identity["issued_at"]
    )
    return identity


async def connect(token: str | None = None, identity: dict | None = None) -> WidgetClient:
    client = WidgetClient()
    assert await client.connect()
    frames = await client.hello(token=token, identity=identity)
    client.welcome, client.replayed = frames[0], events_in(frames)
    return client


@database_sync_to_async
def rows() -> dict:
    return {
        "visitors": Visitor.objects.count(),
        "identified": Visitor.objects.exclude(external_id=None).count(),
        "conversations": Conversation.objects.count(),
        "events": Event.objects.count(),
    }


async def test_identifying_attaches_the_anonymous_conversation_and_it_follows_to_a_new_device():
    laptop = await connect()
    await laptop.say("where is my card")
    await laptop.receive_answer()
    await laptop.close()

    # The customer logs in on the website: the same browser, now with a signed identity.
    signed_in = await connect(token=laptop.token, identity=identity_of())
    assert signed_in.conversation_id == laptop.conversation_id
    assert signed_in.welcome["identity"] == {"user_id": "customer-42", "name": "Ada Lovelace"}
    await signed_in.close()

    # Later, on their phone: no token, only the website's signature.
    phone = await connect(identity=identity_of())
    assert phone.conversation_id == laptop.conversation_id
    assert "where is my card" in [event["text"] for event in phone.replayed]
    await phone.close()
    visitor = await database_sync_to_async(lambda: Visitor.objects.get(external_id="customer-42"))()
    assert (visitor.name, visitor.email) == ("Ada Lovelace", "ada@example.com")
    # Back on the laptop with only the customer's token, the widget is told who they are.
    again = await connect(token=phone.token)
    assert again.welcome["identity"] == {"user_id": "customer-42", "name": "Ada Lovelace"}
    await again.close()


@pytest.mark.parametrize(
    "forged",
    [
        identity_of(secret="a-guessed-secret"),
        {**identity_of(), "user_id": "customer-43"},
        {**identity_of(), "signature": None},
        identity_of(issued_at=int(time.time()) - 3 * 86_400),
        {"user_id": "customer-42"},
    ],
    ids=["wrong secret", "user changed", "unsigned", "expired", "bare user id"],
)
async def test_a_forged_or_stale_identity_is_refused_and_changes_nothing(forged):
    victim = await connect(identity=identity_of())
    await victim.close()
    before = await rows()

    client = WidgetClient()
    assert await client.connect()
    await client.send({"type": "hello", "token": None, "last_seq": 0, "identity": forged})
    error = await client.receive()
    closed = await client.receive_output()

    assert error["type"] == "error" and error["code"] == "invalid_identity", error
    assert closed == {"type": "websocket.close", "code": 4402}
    assert await rows() == before


async def test_without_a_secret_set_no_identity_is_trusted(settings):
    settings.CHAT_IDENTITY_SECRET = ""
    client = WidgetClient()
    assert await client.connect()

    await client.send({"type": "hello", "token": None, "last_seq": 0, "identity": identity_of()})

    assert (await client.receive())["code"] == "invalid_identity"
    assert (await rows())["visitors"] == 0


async def test_another_customer_on_a_shared_browser_gets_their_own_conversation():
    first = await connect(identity=identity_of("customer-1"))
    await first.say("what exchange rate do you use")
    await first.receive_answer()
    await first.close()

    # The next customer signs in on the same browser, which still holds the first one's token.
    second = await connect(token=first.token, identity=identity_of("customer-2", name="Bob"))

    assert second.conversation_id != first.conversation_id
    assert "what exchange rate do you use" not in [e["text"] for e in second.replayed]
    owners = await database_sync_to_async(
        lambda: {
            str(c.pk): c.visitor.external_id for c in Conversation.objects.select_related("visitor")
        }
    )()
    assert owners == {first.conversation_id: "customer-1", second.conversation_id: "customer-2"}
    await second.close()


async def test_during_a_secret_rotation_pages_signed_with_the_old_secret_still_identify(settings):
    settings.CHAT_IDENTITY_SECRET = "the-bank-website-new-secret"
    settings.CHAT_IDENTITY_PREVIOUS_SECRET = SECRET

    client = await connect(identity=identity_of("customer-7", secret=SECRET))

    assert client.welcome["identity"]["user_id"] == "customer-7"
    await client.close()


async def test_a_valid_identity_needs_no_valid_token():
    client = await connect(token="not-a-token-this-server-issued", identity=identity_of())

    assert client.welcome["identity"]["user_id"] == "customer-42"
    await client.close()


async def test_the_agent_sees_who_the_customer_is_in_the_handoff_packet():
    client = await connect(identity=identity_of())
    await client.close()

    packet = await database_sync_to_async(
        lambda: handoff_packet(
            Handoff.objects.create(conversation_id=client.conversation_id, reason="requested")
        )
    )()

    assert packet["customer"] == {
        "user_id": "customer-42",
        "name": "Ada Lovelace",
        "email": "ada@example.com",
    }


async def test_an_anonymous_visitors_packet_says_no_customer():
    client = await connect()
    await client.close()

    packet = await database_sync_to_async(
        lambda: handoff_packet(
            Handoff.objects.create(conversation_id=client.conversation_id, reason="requested")
        )
    )()

    assert packet["customer"] is None
