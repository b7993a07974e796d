"""What each retention period lets go, in batches of short transactions.

Plain functions of `now` and the periods: the daily task, the embedded timer and
`manage.py purge_expired_data` all call `purge`.
"""

import datetime
import functools
import logging
from collections import Counter
from collections.abc import Callable

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Subquery
from django.db.models.functions import Coalesce

from chatbot.models import AnswerFeedback, Conversation, Event, Turn, Visitor
from chatbot.nlu.models import MessageClassification
from chatbot.privacy.deletion import delete_conversations, named_counts
from chatbot.webhooks.models import Delivery, WebhookEvent
from handoff.models import Handoff, Rating, Ticket

logger = logging.getLogger(__name__)

BATCH = 200
EMPTY_TURN_LOG = {"state": {}, "state_diff": {}, "understanding": {}, "trace": {}}
# Told after every batch: the kind being purged and the counts so far.
Progress = Callable[[str, Counter], None]


def periods() -> dict[str, int | None]:
    """Return each kind's period in days (None: kept forever), from the settings."""
    return {
        "transcripts": settings.RETENTION_TRANSCRIPT_DAYS,
        "tickets": settings.RETENTION_TICKET_DAYS,
        "ratings": settings.RETENTION_RATING_DAYS,
        "turn_logs": settings.RETENTION_TURN_LOG_DAYS,
        "webhooks": settings.RETENTION_WEBHOOK_DAYS,
    }


def purge(now: datetime.datetime, progress: Progress | None = None) -> dict[str, dict[str, int]]:
    """Purge every kind whose period has passed; return the rows removed, by kind."""
    purgers = {
        "transcripts": purge_transcripts,
        "tickets": purge_tickets,
        "ratings": purge_ratings,
        "turn_logs": purge_turn_logs,
        "webhooks": purge_webhook_outbox,
    }
    counts = {}
    for kind, days in periods().items():
        if days is None:
            continue
        cutoff = now - datetime.timedelta(days=days)
        counts[kind] = dict(purgers[kind](cutoff, functools.partial(_tell, progress, kind)))
    return counts


def _tell(progress: Progress | None, kind: str, so_far: Counter) -> None:
    if progress is not None:
        progress(kind, so_far)


def last_activity():
    """The time of a conversation's newest event (its creation when it has none): its age."""
    newest = Event.objects.filter(conversation=OuterRef("pk"), seq=OuterRef("last_seq"))
    return Coalesce(Subquery(newest.values("created_at")[:1]), "created_at")


def expired_conversations(cutoff: datetime.datetime):
    """Conversations quiet since before the cutoff and not with a person (an open handoff)."""
    open_handoff = Handoff.objects.filter(
        conversation=OuterRef("pk"), status__in=Handoff.OPEN_STATUSES
    )
    return (
        Conversation.objects.filter(created_at__lt=cutoff)
        .annotate(last_activity_at=last_activity())
        .filter(last_activity_at__lt=cutoff)
        .exclude(Exists(open_handoff))
    )


def purge_transcripts(cutoff: datetime.datetime, progress: Callable[[Counter], None]) -> Counter:
    """Delete conversations whose last activity is older than the cutoff, whole; then the
    visitors left with none, made before the cutoff."""
    counts = Counter()
    while True:
        with transaction.atomic():
            batch = list(
                expired_conversations(cutoff)
                .select_for_update(of=("self",))
                .values_list("pk", flat=True)[:BATCH]
            )
            if not batch:
                break
            counts += delete_conversations(batch)
        progress(counts)
    return _delete_in_batches(
        Visitor.objects.filter(created_at__lt=cutoff).exclude(
            Exists(Conversation.objects.filter(visitor=OuterRef("pk")))
        ),
        progress,
        counts,
    )


def purge_tickets(cutoff: datetime.datetime, progress: Callable[[Counter], None]) -> Counter:
    """Delete the messages left for the team before the cutoff, resolved or not."""
    tickets = Ticket.objects.filter(created_at__lt=cutoff)
    unresolved = tickets.filter(is_resolved=False).count()
    counts = _delete_in_batches(tickets, progress, Counter())
    if unresolved:
        counts["unresolved_tickets"] = unresolved
    return counts


def purge_ratings(cutoff: datetime.datetime, progress: Callable[[Counter], None]) -> Counter:
    """Delete conversation ratings and answer ratings given before the cutoff."""
    counts = _delete_in_batches(Rating.objects.filter(created_at__lt=cutoff), progress, Counter())
    return _delete_in_batches(
        AnswerFeedback.objects.filter(updated_at__lt=cutoff), progress, counts
    )


def purge_turn_logs(cutoff: datetime.datetime, progress: Callable[[Counter], None]) -> Counter:
    """Empty what the classifier and the policy recorded of turns before the cutoff, and delete
    the classifier's verdicts. A turn's row stays: it marks its message as answered."""
    counts = _delete_in_batches(
        MessageClassification.objects.filter(created_at__lt=cutoff), progress, Counter()
    )
    still_logged = Turn.objects.filter(created_at__lt=cutoff).exclude(**EMPTY_TURN_LOG)
    after = 0
    while True:
        with transaction.atomic():
            # Forward by id: each turn is looked at once, whatever the database makes of {}.
            batch = list(
                still_logged.filter(pk__gt=after)
                .order_by("pk")
                .values_list("pk", flat=True)[:BATCH]
            )
            if not batch:
                break
            counts["turn_logs_emptied"] += Turn.objects.filter(pk__in=batch).update(
                **EMPTY_TURN_LOG
            )
        after = batch[-1]
        progress(counts)
    return counts


def purge_webhook_outbox(cutoff: datetime.datetime, progress: Callable[[Counter], None]) -> Counter:
    """Delete outbox events written before the cutoff that no delivery waits to send."""
    pending = Delivery.objects.filter(event=OuterRef("pk"), status=Delivery.Status.PENDING)
    return _delete_in_batches(
        WebhookEvent.objects.filter(created_at__lt=cutoff).exclude(Exists(pending)),
        progress,
        Counter(),
    )


def _delete_in_batches(rows, progress: Callable[[Counter], None], counts: Counter) -> Counter:
    """Delete the queryset's rows a batch per transaction; add what went to `counts`."""
    model = rows.model
    while True:
        try:
            with transaction.atomic():
                batch = list(rows.values_list("pk", flat=True)[:BATCH])
                if not batch:
                    break
                counts += named_counts(model.objects.filter(pk__in=batch).delete()[1])
        except IntegrityError:
            # A row taken into use meanwhile (a visitor back at this moment): the next run sees.
            logger.warning("A %s batch changed while purging; left for the next run", model)
            break
        progress(counts)
    return counts
