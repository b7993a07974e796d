"""Thumbs up or down on a bot answer, through the widget's websocket and the real ASGI app.

Runs on the embedded default and again on PostgreSQL with channels_redis on Redis.
"""

import pytest
from channels.db import database_sync_to_async

from chatbot.models import AnswerFeedback, Turn
from tests.chatbot.socket_client import WidgetClient, events_in

pytestmark = [pytest.mark.websocket, pytest.mark.django_db(transaction=True)]


@database_sync_to_async
def stored_feedback() -> list[tuple[str, int, str, int | None]]:
    """Return each rating as (conversation id, answer seq, rating, its turn's message seq)."""
    return [
        (
            str(feedback.answer.conversation_id),
            feedback.answer.seq,
            feedback.rating,
            feedback.turn.visitor_event.seq if feedback.turn else None,
        )
        for feedback in AnswerFeedback.objects.select_related("answer", "turn__visitor_event")
    ]


@database_sync_to_async
def turn_answering(conversation_id: str, visitor_seq: int) -> Turn:
    return Turn.objects.get(conversation_id=conversation_id, visitor_event__seq=visitor_seq)


async def visitor_with_an_answer(question: str = "hello") -> tuple[WidgetClient, int, int]:
    """Connect a new visitor who asked one question; return it, the question's and answer's seq."""
    client = WidgetClient()
    assert await client.connect()
    await client.hello()
    ack = await client.say(question)
    answers = [
        event for event in events_in(await client.receive_answer()) if event["author"] == "bot"
    ]
    return client, ack["seq"], answers[0]["seq"]


async def test_rating_a_bot_answer_stores_it_with_its_turn_and_confirms_it():
    # Given a visitor whose question (seq 2) the bot answered (seq 3)
    client, question_seq, answer_seq = await visitor_with_an_answer()

    # When the visitor gives the answer a thumbs down
    await client.send({"type": "feedback", "seq": answer_seq, "rating": "down"})
    confirmation = await client.receive()

    # Then it is confirmed and stored against the answer and the turn that produced it
    assert (question_seq, answer_seq) == (2, 3)
    assert confirmation == {"type": "feedback_saved", "seq": 3, "rating": "down"}
    assert await stored_feedback() == [(client.conversation_id, 3, "down", 2)]
    turn = await turn_answering(client.conversation_id, 2)
    assert await database_sync_to_async(lambda: turn.answer_feedback.get().rating)() == "down"
    assert await client.receive_nothing()
    await client.close()


async def test_rating_the_same_answer_again_changes_the_one_stored_rating():
    # Given an answer the visitor rated up
    client, _, answer_seq = await visitor_with_an_answer()
    await client.send({"type": "feedback", "seq": answer_seq, "rating": "up"})
    first = await client.receive()

    # When the visitor changes their mind
    await client.send({"type": "feedback", "seq": answer_seq, "rating": "down"})
    second = await client.receive()

    # Then one rating is kept, the latest
    assert first == {"type": "feedback_saved", "seq": answer_seq, "rating": "up"}
    assert second == {"type": "feedback_saved", "seq": answer_seq, "rating": "down"}
    assert await stored_feedback() == [(client.conversation_id, answer_seq, "down", 2)]
    await client.close()


@pytest.mark.parametrize(
    ("rated", "description"),
    [(2, "the visitor's own message"), (1, "the conversation_started event"), (99, "no event")],
)
async def test_rating_anything_but_a_bot_answer_of_the_conversation_is_refused(rated, description):
    # Given a visitor with a question (seq 2) and its answer (seq 3)
    client, _, _ = await visitor_with_an_answer()

    # When the visitor rates something that is not a bot answer
    await client.send({"type": "feedback", "seq": rated, "rating": "up"})
    error = await client.receive()

    # Then it is refused with a stable code, and nothing is stored
    assert error == {
        "type": "error",
        "code": "unknown_event",
        "message": f"There is no answer of the assistant numbered {rated} in this chat.",
        "seq": rated,
    }, description
    assert await client.receive_nothing()
    assert await stored_feedback() == []
    await client.close()


async def test_a_visitor_cannot_rate_an_answer_in_another_visitors_conversation():
    # Given Alice, whose answer is seq 3, and Bob, who has just started his own conversation
    alice, _, alice_answer = await visitor_with_an_answer("hello")
    bob = WidgetClient()
    assert await bob.connect()
    await bob.hello()

    # When Bob, whose conversation holds only seq 1, sends a rating for seq 3
    await bob.send({"type": "feedback", "seq": alice_answer, "rating": "down"})
    error = await bob.receive()

    # Then it is refused, and Alice's answer has no rating
    assert (error["type"], error["code"], error["seq"]) == ("error", "unknown_event", 3)
    assert await stored_feedback() == []
    await alice.close()
    await bob.close()


async def test_a_returning_visitor_gets_the_rating_with_the_replayed_answer():
    # Given an answer the visitor rated down, then left
    client, question_seq, answer_seq = await visitor_with_an_answer()
    await client.send({"type": "feedback", "seq": answer_seq, "rating": "down"})
    await client.receive_until("feedback_saved")
    await client.close()

    # When the visitor comes back and the conversation is replayed
    again = WidgetClient()
    assert await again.connect()
    events = events_in(await again.hello(token=client.token))

    # Then the rated answer carries its rating, and nothing else does
    assert [(event["seq"], event.get("feedback")) for event in events] == [
        (1, None),
        (question_seq, None),
        (answer_seq, "down"),
    ]
    await again.close()


async def test_feedback_frames_count_towards_the_sockets_flood_limit(settings):
    # Given a socket that has used two frames of its sixty (hello and a message)
    settings.CHAT_RATE_LIMIT_MESSAGES = 20
    settings.CHAT_RATE_LIMIT_WINDOW_SECONDS = 60
    client, _, answer_seq = await visitor_with_an_answer()

    # When it sends ratings without pause
    ratings = ["up", "down"] * 29
    for rating in ratings:
        await client.send({"type": "feedback", "seq": answer_seq, "rating": rating})
        assert (await client.receive())["type"] == "feedback_saved"
    await client.send({"type": "feedback", "seq": answer_seq, "rating": "up"})
    refused = await client.receive()

    # Then the one over the limit is refused and did not change the stored rating
    assert len(ratings) == 58
    assert (refused["type"], refused["code"]) == ("error", "rate_limited")
    assert await stored_feedback() == [(client.conversation_id, answer_seq, "down", 2)]
    await client.close()
