"""The retention settings are checked at start-up, and the purge runs daily: beat's schedule,
the embedded web process's timer, or the management command."""

import datetime
import os
import subprocess
import sys

import pytest
from django.conf import settings as django_settings
from django.core.management import call_command
from django.utils import timezone

from chatbot.audit.models import AuditEntry
from chatbot.celery import app
from chatbot.models import Conversation
from chatbot.privacy import tasks
from tests.live_server import REPO_ROOT
from tests.privacy.test_retention import age


def settings_with(tmp_path, **variables) -> subprocess.CompletedProcess:
    """Import the settings in a fresh process with these variables set."""
    environment = {**os.environ, "VAR_DIR": str(tmp_path), **variables}
    return subprocess.run(
        [sys.executable, "-c", "import chatbot.settings as s; print(s.RETENTION_TRANSCRIPT_DAYS)"],
        cwd=REPO_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ({"RETENTION_TRANSCRIPT_DAYS": "0"}, "RETENTION_TRANSCRIPT_DAYS must be a whole number"),
        ({"RETENTION_TICKET_DAYS": "a year"}, "RETENTION_TICKET_DAYS must be a whole number"),
        (
            {"RETENTION_TRANSCRIPT_DAYS": "365", "RETENTION_TICKET_DAYS": "400"},
            "RETENTION_TICKET_DAYS (400 days) must not be longer than RETENTION_TRANSCRIPT_DAYS",
        ),
        (
            {"RETENTION_WEBHOOK_DAYS": "forever"},
            "RETENTION_WEBHOOK_DAYS (forever) must not be longer than RETENTION_TRANSCRIPT_DAYS",
        ),
        ({"RETENTION_PURGE_AT": "25:00"}, "RETENTION_PURGE_AT must be a time HH:MM"),
    ],
)
def test_a_bad_retention_setting_stops_start_up_with_a_message(tmp_path, variables, message):
    result = settings_with(tmp_path, **variables)

    assert result.returncode != 0
    assert message in result.stderr


def test_every_period_may_be_forever(tmp_path):
    forever = "forever"
    result = settings_with(
        tmp_path,
        RETENTION_TRANSCRIPT_DAYS=forever,
        RETENTION_TICKET_DAYS=forever,
        RETENTION_RATING_DAYS=forever,
        RETENTION_TURN_LOG_DAYS=forever,
        RETENTION_WEBHOOK_DAYS=forever,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "None"


def test_beat_runs_the_registered_purge_task_every_day_at_the_configured_time():
    entry = django_settings.CELERY_BEAT_SCHEDULE["purge-expired-data"]

    assert entry["task"] == "privacy.purge_expired"
    assert entry["task"] in app.tasks
    assert app.conf.beat_schedule == django_settings.CELERY_BEAT_SCHEDULE
    schedule = entry["schedule"]
    assert (schedule.hour, schedule.minute) == ({3}, {30})
    assert schedule.day_of_week == set(range(7))


def test_the_next_run_is_today_or_tomorrow_at_the_time_of_day():
    morning = datetime.datetime(2026, 3, 1, 2, 0, tzinfo=datetime.UTC)
    evening = datetime.datetime(2026, 3, 1, 22, 0, tzinfo=datetime.UTC)

    assert tasks.next_run(morning, 3, 30) == datetime.datetime(
        2026, 3, 1, 3, 30, tzinfo=datetime.UTC
    )
    assert tasks.next_run(evening, 3, 30) == datetime.datetime(
        2026, 3, 2, 3, 30, tzinfo=datetime.UTC
    )


def test_an_embedded_server_catches_up_on_a_missed_day_and_else_waits_for_the_time(settings):
    settings.RETENTION_PURGE_AT = (3, 30)
    now = datetime.datetime(2026, 3, 1, 2, 0, tzinfo=datetime.UTC)

    never = tasks.seconds_to_next_purge(now, None)
    two_days_ago = tasks.seconds_to_next_purge(now, now - datetime.timedelta(days=2))
    last_night = tasks.seconds_to_next_purge(now, now - datetime.timedelta(hours=22))

    assert never == two_days_ago == tasks.CATCH_UP_DELAY_SECONDS
    assert last_night == 90 * 60


@pytest.mark.django_db
def test_the_embedded_timer_is_set_for_the_next_purge_and_off_when_turned_off(
    settings, monkeypatch
):
    started = []

    class RecordedTimer:
        def __init__(self, seconds, function):
            self.seconds, self.function = seconds, function
            self.name, self.daemon = "", False

        def start(self):
            started.append(self)

    monkeypatch.setattr(tasks, "Timer", RecordedTimer)
    settings.RETENTION_PURGE_AT = None
    tasks.start_daily_purge()
    assert started == []

    settings.RETENTION_PURGE_AT = (3, 30)
    tasks.start_daily_purge()

    (timer,) = started
    assert (timer.seconds, timer.name, timer.daemon) == (
        tasks.CATCH_UP_DELAY_SECONDS,  # no purge recorded yet
        "retention-purge",
        True,
    )
    timer.function()  # the purge runs, records itself and sets the next timer
    assert AuditEntry.objects.filter(action="retention_purged").count() == 1
    assert len(started) == 2 and started[1].seconds > tasks.CATCH_UP_DELAY_SECONDS


@pytest.mark.django_db
def test_the_command_purges_and_prints_the_periods_and_the_counts(settings, ada, capsys):
    settings.RETENTION_TRANSCRIPT_DAYS = 30
    settings.RETENTION_TICKET_DAYS = 30
    settings.RETENTION_RATING_DAYS = None
    age(ada, 31)

    call_command("purge_expired_data")

    out = capsys.readouterr().out
    assert "transcripts: 30 days" in out and "ratings: kept forever" in out
    assert "  transcripts: " in out and "1 conversations" in out
    assert '"conversations": 1' in out
    assert not Conversation.objects.filter(pk=ada.conversation.pk).exists()
    assert AuditEntry.objects.filter(action="retention_purged").count() == 1


@pytest.mark.django_db
def test_the_task_purges_as_of_the_time_it_is_given(settings, ada):
    settings.RETENTION_TRANSCRIPT_DAYS = 30
    settings.RETENTION_TICKET_DAYS = settings.RETENTION_RATING_DAYS = None
    settings.RETENTION_TURN_LOG_DAYS = settings.RETENTION_WEBHOOK_DAYS = None
    later = timezone.now() + datetime.timedelta(days=31)

    tasks.purge_expired.apply(kwargs={"now": later.isoformat()})

    assert not Conversation.objects.filter(pk=ada.conversation.pk).exists()
