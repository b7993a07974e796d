"""The Celery application; tasks run in-process unless REDIS_URL is set."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatbot.settings")

app = Celery("chatbot")
app.config_from_object("django.conf:settings", namespace="CELERY")
# Celery's Django fixup closes the database connection after every task unless told to reuse
# it: a new PostgreSQL connection per classification batch cost more than the batch's insert.
# It now closes every 2 x this many tasks; Django's CONN_MAX_AGE still retires old ones.
app.conf.update(CELERY_DB_REUSE_MAX=500)
app.autodiscover_tasks()
