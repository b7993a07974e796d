"""What integrations do through REST API v1: read, filter, page, post, close, report."""

import uuid

import pytest
from asgiref.sync import sync_to_async
from django.utils import timezone

from chatbot import actions
from chatbot.models import Conversation, Event, Turn
from handoff import actions as handoff_actions
from handoff.models import Handoff, Ticket
from tests.chatbot.socket_client import WidgetClient
from tests.handoff.conftest import new_agent

# The filters read JSON fields, whose SQL differs: this runs on SQLite and on PostgreSQL.
pytestmark = [pytest.mark.django_db, pytest.mark.databases]


def conversation_with(*texts: str, intent: str | None = None) -> Conversation:
    conversation = actions.open_conversation(actions.create_visitor().pk, is_new_visitor=True)
    for index, text in enumerate(texts):
        event, _ = actions.record_visitor_message(conversation.pk, f"c-{index}", text)
        if intent:
            Turn.objects.create(
                conversation=conversation,
                visitor_event=event,
                understanding={"status": "ok", "intent": intent},
            )
    return conversation


def waiting_handoff(conversation: Conversation) -> Handoff:
    new_agent(f"agent-{uuid.uuid4().hex[:6]}")  # someone is online, so it queues
    handoff = handoff_actions.request_handoff(conversation.pk, "requested", "card_arrival")
    assert handoff.status == Handoff.Status.WAITING
    return handoff


def test_conversations_are_listed_newest_first_with_filters(api):
    about_cards = conversation_with("where is my card", intent="card_arrival")
    about_rates = conversation_with("what exchange rate", intent="exchange_rate")
    escalated = conversation_with("a person please")
    waiting_handoff(escalated)

    everything = api.get("/api/v1/conversations").json()["results"]
    by_intent = api.get("/api/v1/conversations", {"intent": "card_arrival"}).json()["results"]
    handed = api.get("/api/v1/conversations", {"handoff": "true"}).json()["results"]
    not_handed = api.get("/api/v1/conversations", {"handoff": "false"}).json()["results"]
    waiting = api.get("/api/v1/conversations", {"owner": "waiting"}).json()["results"]

    assert [c["id"] for c in everything] == [
        str(c.pk) for c in (escalated, about_rates, about_cards)
    ]
    assert [c["id"] for c in by_intent] == [str(about_cards.pk)]
    assert [c["id"] for c in handed] == [str(escalated.pk)] == [c["id"] for c in waiting]
    assert {c["id"] for c in not_handed} == {str(about_cards.pk), str(about_rates.pk)}
    assert everything[0]["has_handoff"] is True and everything[0]["customer"] is None


def test_conversations_filter_by_creation_time_and_page_by_cursor(api):
    conversations = [conversation_with(f"question {n}") for n in range(5)]
    middle = conversations[2].created_at

    after = api.get("/api/v1/conversations", {"created_after": middle.isoformat()}).json()
    seen, page = [], api.get("/api/v1/conversations", {"limit": 2}).json()
    while True:
        seen += [c["id"] for c in page["results"]]
        if not page["next"]:
            break
        page = api.get(page["next"]).json()

    assert {c["id"] for c in after["results"]} == {str(c.pk) for c in conversations[2:]}
    assert seen == [str(c.pk) for c in reversed(conversations)]


@pytest.mark.parametrize(
    "query",
    [
        {"limit": "0"},
        {"limit": "many"},
        {"status": ""},
        {"handoff": "yes"},
        {"owner": "robot"},
        {"intent": "card arrival"},
        {"created_after": "yesterday"},
    ],
)
def test_a_bad_filter_is_a_400_in_the_one_error_shape(api, query):
    response = api.get("/api/v1/conversations", query)

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid" and set(error["details"]) == set(query)


def test_a_conversation_and_its_events_are_read_by_sequence_number(api):
    conversation = conversation_with("one", "two", "three")

    detail = api.get(f"/api/v1/conversations/{conversation.pk}").json()
    first = api.get(f"/api/v1/conversations/{conversation.pk}/events", {"limit": 2}).json()
    rest = api.get(
        f"/api/v1/conversations/{conversation.pk}/events",
        {"after_seq": first["next_after_seq"]},
    ).json()

    assert detail["last_seq"] == 4 and detail["status"] == "open"
    assert [e["seq"] for e in first["results"]] == [1, 2] and first["next_after_seq"] == 2
    assert [e["text"] for e in rest["results"]] == ["two", "three"]
    assert rest["next_after_seq"] is None
    for missing in (uuid.uuid4(), "not-a-uuid"):
        response = api.get(f"/api/v1/conversations/{missing}")
        assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"


@pytest.mark.websocket
@pytest.mark.django_db(transaction=True)
async def test_a_posted_notice_reaches_the_visitors_open_widget_once(api):
    visitor = WidgetClient()
    assert await visitor.connect()
    await visitor.hello()
    path = f"/api/v1/conversations/{visitor.conversation_id}/messages"
    body = {"text": "Your new card has been posted today.", "client_id": "shipment-77"}

    first = await sync_to_async(api.post)(path, body, format="json")
    shown = await visitor.receive_until("event", author="bot")
    again = await sync_to_async(api.post)(path, body, format="json")

    assert first.status_code == 201 and first.json()["duplicate"] is False
    assert shown[-1]["text"] == body["text"]
    assert again.status_code == 200 and again.json()["duplicate"] is True
    assert again.json()["event"]["seq"] == first.json()["event"]["seq"]
    assert await visitor.receive_nothing()
    stored = await sync_to_async(
        lambda: list(Event.objects.filter(text=body["text"]).values_list("author", "data"))
    )()
    assert stored == [("bot", {"source": "api:crm"})]
    await visitor.close()


def test_a_notice_is_refused_for_a_closed_conversation_or_without_visible_text(api):
    conversation = conversation_with("hello")
    path = f"/api/v1/conversations/{conversation.pk}/messages"

    blank = api.post(path, {"text": "\u200b ", "client_id": "n-1"}, format="json")
    numeric_id = api.post(path, {"text": "Hi", "client_id": 7}, format="json")
    Conversation.objects.filter(pk=conversation.pk).update(status=Conversation.Status.CLOSED)
    closed = api.post(path, {"text": "Hi", "client_id": "n-2"}, format="json")

    assert blank.status_code == 400 and "text" in blank.json()["error"]["details"]
    assert numeric_id.status_code == 400 and "client_id" in numeric_id.json()["error"]["details"]
    assert closed.status_code == 409 and closed.json()["error"]["code"] == "conflict"
    assert not Event.objects.filter(author="bot").exists()


def test_handoffs_are_listed_read_with_their_packet_and_closed_once(api):
    conversation = conversation_with("my card was stolen")
    handoff = waiting_handoff(conversation)

    listed = api.get("/api/v1/handoffs", {"status": "waiting"}).json()["results"]
    read = api.get(f"/api/v1/handoffs/{handoff.pk}").json()
    closed = api.post(
        f"/api/v1/handoffs/{handoff.pk}/close", {"disposition": "resolved"}, format="json"
    )
    again = api.post(f"/api/v1/handoffs/{handoff.pk}/close", {}, format="json")

    assert [h["id"] for h in listed] == [handoff.pk]
    assert read["packet"]["conversation_id"] == str(conversation.pk)
    assert read["packet"]["transcript"]
    assert closed.status_code == 200, closed.content
    assert (closed.json()["status"], closed.json()["disposition"]) == ("closed", "resolved")
    conversation.refresh_from_db()
    assert (conversation.status, conversation.owner) == ("closed", "closed")
    assert again.status_code == 409
    assert api.post("/api/v1/handoffs/999999/close", {}, format="json").status_code == 404


def test_tickets_are_listed_by_resolution_and_resolved(api):
    conversation = conversation_with("nobody answers")
    ticket = handoff_actions.leave_message(conversation.pk, "Call me back", "ada@example.com")

    open_ones = api.get("/api/v1/tickets", {"resolved": "false"}).json()["results"]
    read = api.get(f"/api/v1/tickets/{ticket.pk}").json()
    resolved = api.post(f"/api/v1/tickets/{ticket.pk}/close")

    assert [t["id"] for t in open_ones] == [ticket.pk]
    assert (read["text"], read["contact"]) == ("Call me back", "ada@example.com")
    assert resolved.status_code == 200 and resolved.json()["is_resolved"] is True
    assert Ticket.objects.get().is_resolved
    assert api.get("/api/v1/tickets", {"resolved": "false"}).json()["results"] == []


def test_the_report_gives_the_desks_figures(api):
    conversation = conversation_with("a person please")
    handoff = waiting_handoff(conversation)
    Handoff.objects.filter(pk=handoff.pk).update(accepted_at=timezone.now())

    report = api.get("/api/v1/reports/handoffs").json()

    assert report["handoffs"] == 1 and report["conversations"] == 1
    assert report["handoff_rate_by_reason"][0]["reason"] == "requested"


def test_intents_list_their_examples_and_take_new_ones(api):
    from chatbot.nlu.models import Intent, TrainingExample

    intent = Intent.objects.create(name="card_arrival", description="When a card comes")
    TrainingExample.objects.create(intent=intent, text="where is my card")
    path = "/api/v1/intents/card_arrival/examples"

    listed = api.get("/api/v1/intents").json()
    added = api.post(path, {"text": "  has my card been sent  "}, format="json")
    again = api.post(path, {"text": "has my card been sent"}, format="json")
    examples = api.get(path).json()["results"]

    assert listed == [{"name": "card_arrival", "description": "When a card comes", "examples": 1}]
    assert added.status_code == 201 and added.json()["text"] == "has my card been sent"
    assert again.status_code == 409
    assert [e["text"] for e in examples] == ["where is my card", "has my card been sent"]
    assert api.get("/api/v1/intents/no_such_intent/examples").status_code == 404


def test_models_are_listed_promoted_and_rolled_back(api, tiny_model, settings):
    import shutil

    from chatbot.nlu import artefacts

    first = artefacts.promoted_version()
    # A second stored model: a copy of the first under a later version name.
    second = f"{first}-2"
    shutil.copytree(artefacts.models_root() / first, artefacts.models_root() / second)
    try:
        listed = api.get("/api/v1/models").json()
        promoted = api.post(f"/api/v1/models/{second}/promote").json()
        served_after_promotion = artefacts.promoted_version()
        rolled_back = api.post("/api/v1/models/rollback").json()

        assert [m["version"] for m in listed][:2] == [second, first]
        assert listed[1]["is_promoted"] and listed[1]["summary"]
        assert promoted == {"promoted": second, "previous": first}
        assert served_after_promotion == second
        assert rolled_back == {"promoted": first, "previous": second}
        assert artefacts.promoted_version() == first
        assert api.get(f"/api/v1/models/{second}").json()["is_promoted"] is False
        assert api.post("/api/v1/models/no-such-version/promote").status_code == 404
    finally:
        artefacts.promote(first)
        shutil.rmtree(artefacts.models_root() / second)


def test_the_knowledge_graph_is_read_by_node_with_its_relations(api):
    from knowledge.models import Node, Relation

    card = Node.objects.create(key="product:debit_card", type="product", label="Debit card")
    topic = Node.objects.create(
        key="topic:card_arrival", type="topic", label="Card arrival", aliases=["card delivery"]
    )
    Relation.objects.create(source=topic, type="about", target=card, attributes={"weight": 1})

    by_text = api.get("/api/v1/knowledge/nodes", {"q": "delivery"}).json()["results"]
    by_type = api.get("/api/v1/knowledge/nodes", {"type": "product"}).json()["results"]
    read = api.get("/api/v1/knowledge/nodes/topic:card_arrival").json()
    target = api.get("/api/v1/knowledge/nodes/product:debit_card").json()

    assert [n["key"] for n in by_text] == ["topic:card_arrival"]
    assert [n["key"] for n in by_type] == ["product:debit_card"]
    assert read["node"]["label"] == "Card arrival"
    assert read["outgoing"] == [
        {
            "id": read["outgoing"][0]["id"],
            "type": "about",
            "node": "product:debit_card",
            "attributes": {"weight": 1},
        }
    ]
    assert [r["node"] for r in target["incoming"]] == ["topic:card_arrival"]
    assert api.get("/api/v1/knowledge/nodes/topic:nothing").status_code == 404
