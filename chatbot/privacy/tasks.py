"""The daily purge: a Celery task that beat schedules, or a timer in the embedded web process."""

import datetime
import logging
import threading

from celery import shared_task
from django.conf import settings
from django.db import connection
from django.utils import timezone

from chatbot.audit.actions import RETENTION_PURGED
from chatbot.audit.models import AuditEntry
from chatbot.privacy import actions

logger = logging.getLogger(__name__)
Timer = threading.Timer
# Embedded, a purge missed while the server was down runs this long after start-up.
CATCH_UP_DELAY_SECONDS = 60.0
DAY = datetime.timedelta(days=1)


@shared_task(name="privacy.purge_expired", ignore_result=True)
def purge_expired(now: str | None = None) -> dict:
    """Purge what the retention periods let go (as of `now`, ISO 8601, when given)."""
    moment = datetime.datetime.fromisoformat(now) if now else None
    counts = actions.purge_expired(moment)
    logger.info("Retention purge: %s", counts)
    return counts


def next_run(now: datetime.datetime, hour: int, minute: int) -> datetime.datetime:
    """Return the next time of day hour:minute (UTC) after `now`."""
    today = now.astimezone(datetime.UTC).replace(hour=hour, minute=minute, second=0, microsecond=0)
    return today if today > now else today + DAY


def seconds_to_next_purge(now: datetime.datetime, last_purge: datetime.datetime | None) -> float:
    """Seconds until the embedded purge should run: soon if a day went by without one."""
    if last_purge is None or now - last_purge > DAY:
        return CATCH_UP_DELAY_SECONDS
    hour, minute = settings.RETENTION_PURGE_AT
    return (next_run(now, hour, minute) - now).total_seconds()


def last_purge_time() -> datetime.datetime | None:
    """When the last purge was recorded in the audit trail."""
    entry = AuditEntry.objects.filter(action=RETENTION_PURGED).order_by("-at").first()
    return entry.at if entry else None


def start_daily_purge() -> None:
    """Embedded (no workers, no beat): purge in this process at RETENTION_PURGE_AT every day."""
    if not settings.RETENTION_PURGE_AT:
        return

    def run() -> None:
        try:
            purge_expired.apply()
        except Exception:
            logger.exception("The retention purge failed; it runs again at the next time")
        finally:
            connection.close()
        _schedule_next()

    def _schedule_next() -> None:
        try:
            wait = seconds_to_next_purge(timezone.now(), last_purge_time())
        except Exception:
            # Before `migrate`, say: there is nothing to purge yet; look again tomorrow.
            logger.exception("Could not read when the last purge ran")
            wait = DAY.total_seconds()
        finally:
            connection.close()
        timer = Timer(wait, run)
        timer.name = "retention-purge"
        timer.daemon = True
        timer.start()

    _schedule_next()
