"""Storing a visitor's rating of a bot answer: one per answer, with the turn that produced it."""

import pytest

from chatbot import actions
from chatbot.models import AnswerFeedback, Turn

# The turn is found by comparing times, which the two databases store differently.
pytestmark = pytest.mark.databases


@pytest.fixture
def conversation(db):
    return actions.open_conversation(actions.create_visitor().pk)


def answer(conversation, visitor_event, text: str) -> int:
    """Complete the turn for one visitor message with one bot reply; return the reply's seq."""
    (reply,) = actions.complete_turn(conversation.pk, visitor_event.pk, [(text, {})], {})
    return reply.seq


def test_an_answer_is_rated_with_the_turn_of_the_message_it_answered(conversation):
    # Given a question (seq 2) and the bot's answer to it (seq 3)
    question, _ = actions.record_visitor_message(conversation.pk, "q", "how do I top up?")
    answer_seq = answer(conversation, question, "By card or bank transfer.")

    # When the visitor rates the answer
    feedback = actions.record_answer_feedback(conversation.pk, answer_seq, "up")

    # Then the rating is stored with the answer and its turn
    assert (feedback.answer.seq, feedback.rating) == (3, "up")
    assert feedback.turn == Turn.objects.get(visitor_event=question)


def test_a_message_sent_while_the_bot_answered_does_not_take_the_answers_turn(conversation):
    # Given a first question (seq 2), a second one sent before the first was answered (seq 3),
    # then the answer to the first (seq 4)
    first, _ = actions.record_visitor_message(conversation.pk, "a", "my card is lost")
    second, _ = actions.record_visitor_message(conversation.pk, "b", "and what is the fee?")
    first_answer = answer(conversation, first, "I can block it.")

    # When the visitor rates that answer before the second question is answered, and again after
    actions.record_answer_feedback(conversation.pk, first_answer, "up")
    second_answer = answer(conversation, second, "Blocking is free.")
    actions.record_answer_feedback(conversation.pk, first_answer, "down")
    actions.record_answer_feedback(conversation.pk, second_answer, "up")

    # Then each rating belongs to the turn of the question its answer answered
    assert (first_answer, second_answer) == (4, 5)
    assert sorted(
        AnswerFeedback.objects.values_list("answer__seq", "rating", "turn__visitor_event__seq")
    ) == [(4, "down", 2), (5, "up", 3)]


@pytest.mark.parametrize("seq", [1, 2, 4], ids=["system event", "visitor message", "no event"])
def test_rating_anything_but_a_bot_answer_raises_and_stores_nothing(conversation, seq):
    # Given a question (seq 2) and its answer (seq 3)
    question, _ = actions.record_visitor_message(conversation.pk, "q", "hello")
    answer(conversation, question, "Hello! How can I help?")

    # When something else is rated
    with pytest.raises(actions.UnknownAnswer):
        actions.record_answer_feedback(conversation.pk, seq, "down")

    # Then nothing is stored
    assert AnswerFeedback.objects.count() == 0


def test_an_answer_of_another_conversation_cannot_be_rated(conversation):
    # Given another visitor's conversation whose seq 3 is a bot answer
    other = actions.open_conversation(actions.create_visitor().pk)
    question, _ = actions.record_visitor_message(other.pk, "q", "hello")
    answer(other, question, "Hello!")

    # When it is rated from this conversation
    with pytest.raises(actions.UnknownAnswer):
        actions.record_answer_feedback(conversation.pk, 3, "down")

    # Then nothing is stored
    assert AnswerFeedback.objects.count() == 0
