"""The purge task runs on a real Celery worker, as beat sends it every day."""

import datetime
import time

import pytest
from django.conf import settings
from django.utils import timezone

from chatbot import actions as chat_actions
from chatbot.audit.models import AuditEntry
from chatbot.models import Conversation
from chatbot.privacy.tasks import purge_expired

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


def test_a_worker_purges_the_conversations_past_the_transcript_period(
    requires_services, celery_worker
):
    conversation = chat_actions.open_conversation(chat_actions.create_visitor().pk)
    chat_actions.record_visitor_message(conversation.pk, "c-1", "my card was stolen")
    # The worker keeps the default periods; the task is told it is that much later.
    later = timezone.now() + datetime.timedelta(days=settings.RETENTION_TRANSCRIPT_DAYS + 1)

    purge_expired.apply_async(kwargs={"now": later.isoformat()})

    deadline = time.monotonic() + 30
    while Conversation.objects.filter(pk=conversation.pk).exists():
        assert time.monotonic() < deadline, "the worker did not purge the conversation"
        time.sleep(0.1)
    entry = AuditEntry.objects.get(action="retention_purged")
    assert entry.details["counts"]["transcripts"]["conversations"] == 1
