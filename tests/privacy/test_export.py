"""An export holds everything stored about the person, and nothing about anybody else."""

import json

import pytest
from cryptography.fernet import Fernet

from chatbot import actions as chat_actions
from chatbot.audit.models import AuditEntry
from chatbot.privacy import actions

pytestmark = [pytest.mark.django_db, pytest.mark.databases]

CARD = "4111 1111 1111 1111"


def test_the_export_holds_the_persons_details_and_whole_conversations(ada, grace):
    data = actions.export_subject(ada.visitor)

    assert data["format"] == "chatbot-personal-data/1"
    assert data["visitor"] == {
        "id": str(ada.visitor.pk),
        "created_at": ada.visitor.created_at.isoformat(),
        "external_id": "customer-ada",
        "name": ada.name,
        "email": ada.email,
        "identified_at": ada.visitor.identified_at.isoformat(),
    }
    (conversation,) = data["conversations"]
    assert conversation["id"] == str(ada.conversation.pk)
    texts = [event["text"] for event in conversation["events"]]
    assert ada.message in texts and ada.answer in texts
    assert len(conversation["events"]) == ada.conversation.events.count()
    answer = next(event for event in conversation["events"] if event["text"] == ada.answer)
    assert answer["answer_rating"]["rating"] == "up"
    message = next(event for event in conversation["events"] if event["text"] == ada.message)
    assert message["classification"]["entities"] == [{"type": "card", "text": "4000-ada"}]
    (turn,) = conversation["turns"]
    assert (turn["message_seq"], turn["trace"]) == (message["seq"], {"decision": "answer"})
    (handoff,) = conversation["handoffs"]
    assert handoff["id"] == ada.handoff.pk
    assert [note["text"] for note in handoff["notes"]] == [ada.note]
    assert [(t["text"], t["contact"]) for t in conversation["tickets"]] == [(ada.ticket, ada.email)]
    assert conversation["rating"]["score"] == 4
    assert conversation["state"] == {"recent_questions": [ada.message]}


def test_the_export_is_json_and_holds_nothing_of_another_person(ada, grace):
    exported = json.dumps(actions.export_subject(ada.visitor))

    for text in [*grace.texts(), "customer-grace", str(grace.visitor.pk)]:
        assert text not in exported, text
    assert str(grace.conversation.pk) not in exported


def test_an_export_is_recorded_without_its_content(ada, admin_user):
    actions.export_subject(ada.visitor, user=admin_user)

    entry = AuditEntry.objects.get(action="data_exported")
    assert (entry.actor_name, entry.target_type, entry.target_id) == (
        "admin",
        "visitor",
        str(ada.visitor.pk),
    )
    assert entry.details == {"conversations": 1}


@pytest.mark.parametrize("mode", ["encrypt", "keep"])
def test_the_export_gives_the_person_back_the_originals_the_platform_kept(settings, mode):
    settings.PERSONAL_DATA_STORAGE = mode
    settings.PERSONAL_DATA_KEYS = [Fernet.generate_key().decode()] if mode == "encrypt" else []
    visitor = chat_actions.create_visitor()
    conversation = chat_actions.open_conversation(visitor.pk)
    chat_actions.record_visitor_message(conversation.pk, "c-1", f"my card {CARD} was charged")
    chat_actions.record_visitor_message(conversation.pk, "c-2", "and nothing else")

    (exported,) = actions.export_subject(visitor)["conversations"]

    messages = [event for event in exported["events"] if event["kind"] == "message"]
    assert [message["text"] for message in messages] == [
        "my card [card number ending 1111] was charged",
        "and nothing else",
    ]
    assert messages[0]["original_text"] == f"my card {CARD} was charged"
    assert "original_text" not in messages[1]


def test_an_original_no_key_can_read_is_exported_as_unreadable(settings):
    settings.PERSONAL_DATA_STORAGE = "encrypt"
    settings.PERSONAL_DATA_KEYS = [Fernet.generate_key().decode()]
    visitor = chat_actions.create_visitor()
    conversation = chat_actions.open_conversation(visitor.pk)
    chat_actions.record_visitor_message(conversation.pk, "c-1", f"my card {CARD} was charged")
    settings.PERSONAL_DATA_KEYS = [Fernet.generate_key().decode()]

    (exported,) = actions.export_subject(visitor)["conversations"]

    [message] = [event for event in exported["events"] if event["kind"] == "message"]
    assert message["original_text"] is None
