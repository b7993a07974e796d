"""The admin shows the visitors' ratings of answers, read-only."""

import re

import pytest

from chatbot import actions


@pytest.fixture
def rated_conversation(db):
    """A conversation whose first answer was rated down and whose second was rated up."""
    conversation = actions.open_conversation(actions.create_visitor().pk)
    for client_id, question, reply, rating in [
        ("a", "my card is lost", "I can block it for you.", "down"),
        ("b", "what is the exchange rate?", "We use the interbank rate.", "up"),
    ]:
        event, _ = actions.record_visitor_message(conversation.pk, client_id, question)
        (answer,) = actions.complete_turn(conversation.pk, event.pk, [(reply, {})], {})
        actions.record_answer_feedback(conversation.pk, answer.seq, rating)
    return conversation


def cells(page: str, field: str) -> list[str]:
    """Return the text of an inline's read-only cells of one field, in row order."""
    return [
        text.strip()
        for text in re.findall(rf'<td class="field-{field}">\s*<p>(.*?)</p>', page, re.S)
    ]


def test_the_conversation_page_shows_the_ratings_on_its_answers_and_turns(
    admin_client, rated_conversation
):
    page = admin_client.get(
        f"/admin/chatbot/conversation/{rated_conversation.pk}/change/"
    ).content.decode()

    assert cells(page, "feedback") == ["👎 #3", "👍 #5"]
    assert cells(page, "rating") == ["", "", "👎", "", "👍"]


def test_the_feedback_list_filters_by_rating_and_links_to_the_conversation(
    admin_client, rated_conversation
):
    page = admin_client.get("/admin/chatbot/answerfeedback/?rating__exact=down").content.decode()

    assert "👎 down" in page and "👍 up" not in page
    assert "I can block it for you." in page and "my card is lost" in page
    assert "We use the interbank rate." not in page
    assert f'<a href="/admin/chatbot/conversation/{rated_conversation.pk}/change/">' in page


def test_feedback_cannot_be_added_or_changed_in_the_admin(admin_client, rated_conversation):
    feedback_id = rated_conversation.events.get(seq=3).feedback.pk

    added = admin_client.post("/admin/chatbot/answerfeedback/add/", {"rating": "up"})
    changed = admin_client.post(
        f"/admin/chatbot/answerfeedback/{feedback_id}/change/", {"rating": "up"}
    )

    assert (added.status_code, changed.status_code) == (403, 403)
    assert rated_conversation.events.get(seq=3).feedback.rating == "down"
