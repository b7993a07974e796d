"""A small support desk: a visitor's conversation and agents with skills."""

import pytest
from django.contrib.auth.models import User

from chatbot import actions as chat_actions
from handoff.models import Agent, Skill
from handoff.roles import make_agent


@pytest.fixture
def conversation(db):
    """A visitor who has said one thing to the bot."""
    conversation = chat_actions.open_conversation(chat_actions.create_visitor().pk)
    chat_actions.record_visitor_message(conversation.pk, "c-1", "my card was used by someone else")
    return conversation


def new_agent(username: str, skills=("cards",), online=True, capacity=3) -> Agent:
    user = User.objects.create_user(username, password=f"{username}-password")
    agent = make_agent(
        user, display_name=username.capitalize(), skills=list(skills), capacity=capacity
    )
    if online:
        Agent.objects.filter(pk=agent.pk).update(is_online=True)
        agent.refresh_from_db()
    _ = agent.user  # loaded now, so async tests can read it
    return agent


@pytest.fixture
def anna(db) -> Agent:
    """Anna, online, handles cards."""
    return new_agent("anna")


@pytest.fixture
def ben(db) -> Agent:
    """Ben, online, handles cards too."""
    return new_agent("ben")


@pytest.fixture
def carl(db) -> Agent:
    """Carl, online, handles payments only: cards conversations are not his."""
    return new_agent("carl", skills=("payments",))


@pytest.fixture
def skills(db):
    Skill.objects.update_or_create(
        name="cards", defaults={"intents": ["compromised_card", "lost_or_stolen_card"]}
    )
    Skill.objects.update_or_create(
        name="payments", defaults={"intents": ["card_payment_not_recognised"]}
    )


@pytest.fixture
def tasks_in_process():
    """Run the handoff's Celery tasks in this process, so a test sees their effect at once.

    The real worker path is tested on its own (test_escalation_on_workers.py).
    """
    from chatbot.celery import app

    was_eager = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = was_eager
