"""Celery envelope for classification: ids in, results to the waiting consumers' channels."""

from asgiref.sync import async_to_sync
from celery import shared_task
from celery.signals import worker_process_init
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import OperationalError

from chatbot.nlu.classifier import promoted_classifier
from chatbot.nlu.understanding import understand_events


@worker_process_init.connect
def load_model_once_per_worker_process(**kwargs) -> None:
    """Load the promoted model when a worker process starts, not on its first message."""
    promoted_classifier(settings.NLU_THREADS)


@shared_task(
    name="nlu.classify_messages",
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    retry_jitter=True,
    max_retries=3,
)
def classify_messages(requests: list[dict]) -> None:
    """Classify a small batch of stored visitor messages and tell each waiting consumer.

    Each request is {"event_id", "reply_channel", "request_id"}. Idempotent: a redelivered
    batch returns the stored verdicts.
    """
    results = understand_events([r["event_id"] for r in requests], settings.NLU_THREADS)
    channel_layer = get_channel_layer()
    for request in requests:
        message = {
            "type": "nlu.result",
            "request_id": request["request_id"],
            "result": results.get(request["event_id"], {"status": "unknown_message"}),
        }
        async_to_sync(channel_layer.send)(request["reply_channel"], message)
