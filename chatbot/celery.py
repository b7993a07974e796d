"""The Celery application; tasks run in-process unless REDIS_URL is set."""

import os
import time

from celery import Celery, signals

from chatbot import metrics, tracing

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
    """With LOG_FORMAT=json, a worker's lines are JSON objects too, as the web processes' are;
    and, whatever the format, masked of personal data (Celery sets up its own handlers)."""
    from django.conf import settings

    from chatbot.log_filters import mask_on_every_handler

    mask_on_every_handler()
    if settings.LOG_FORMAT != "json":
        return
    from chatbot.json_logs import JsonFormatter
    from chatbot.log_context import ContextFilter

    for handler in logger.handlers:
        handler.setFormatter(JsonFormatter())
        handler.addFilter(ContextFilter())


# When each task started, by task id: a task's seconds are measured from here to postrun.
_task_started: dict[str, float] = {}


@signals.task_prerun.connect
def task_started(task_id: str, **kwargs) -> None:
    _task_started[task_id] = time.perf_counter()


@signals.task_postrun.connect
def task_finished(task_id: str, task, state: str | None = None, **kwargs) -> None:
    started = _task_started.pop(task_id, None)
    if started is not None:
        metrics.TASK_SECONDS.labels(task.name, state or "UNKNOWN").observe(
            time.perf_counter() - started
        )


@signals.task_failure.connect
def task_failed(sender, exception: BaseException, **kwargs) -> None:
    metrics.TASK_FAILURES.labels(sender.name, type(exception).__name__).inc()


@signals.worker_ready.connect
def serve_metrics(**kwargs) -> None:
    """With METRICS_PORT, the worker serves what its processes recorded for Prometheus."""
    from django.conf import settings

    if settings.METRICS_PORT:
        from chatbot.metrics_endpoint import serve_worker_metrics

        serve_worker_metrics(settings.METRICS_PORT)


@signals.worker_process_init.connect
def trace_in_a_pool_process(**kwargs) -> None:
    """A prefork pool's process sends its own spans: a parent's exporter does not survive fork."""
    tracing.configure_tracing("chatbot-worker")


@signals.worker_ready.connect
def trace_in_the_worker(**kwargs) -> None:
    """A thread or solo pool runs tasks in the main process, which no process_init reaches."""
    tracing.configure_tracing("chatbot-worker")


@signals.worker_ready.connect
def sweep_webhooks(**kwargs) -> None:
    """Every worker looks now and then for webhook deliveries whose task a dead process lost."""
    from chatbot.webhooks.tasks import start_sweeper

    start_sweeper()
