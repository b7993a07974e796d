"""An export holds everything stored about the person, and nothing about anybody else."""

import json

import pytest

from chatbot.audit.models import AuditEntry
from chatbot.privacy import actions

pytestmark = [pytest.mark.django_db, pytest.mark.databases]


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
