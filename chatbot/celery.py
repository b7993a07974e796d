"""The Celery application; tasks run in-process unless REDIS_URL is set."""

import os

from celery import Celery, signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatbot.settings")

app = Celery("chatbot")
app.config_from_object("django.conf:settings", namespace="CELERY")
# Celery's Django fixup closes the database connection after every task unless told to reuse
# it: a new PostgreSQL connection per classification batch cost more than the batch's insert.
# It now closes every 2 x this many tasks; Django's CONN_MAX_AGE still retires old ones.
app.conf.update(CELERY_DB_REUSE_MAX=500)
app.autodiscover_tasks()


@signals.after_setup_logger.connect
@signals.after_setup_task_logger.connect
def json_lines_on_workers(logger, **kwargs) -> None:
    """With LOG_FORMAT=json, a worker's lines are JSON objects too, as the web processes' are."""
    from django.conf import settings

    if settings.LOG_FORMAT != "json":
        return
    from chatbot.json_logs import JsonFormatter
    from chatbot.log_context import ContextFilter

    for handler in logger.handlers:
        handler.setFormatter(JsonFormatter())
        handler.addFilter(ContextFilter())
