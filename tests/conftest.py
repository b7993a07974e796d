"""Fixtures shared by every test."""

import os
import tempfile
import time
from pathlib import Path

import pytest
from channels.layers import channel_layers
from django.conf import settings

from tests.banking_model import banking_model_var_dir  # noqa: F401  (fixture)
from tests.live_server import child_process_database_url, free_port, start_logged, stop
from tests.span_recorder import recorded_spans  # noqa: F401  (fixture)
from tests.staff_sign_in import add_authenticator, sign_in
from tests.tiny_model import tiny_model, tiny_model_var_dir  # noqa: F401  (fixtures)

WORKER_START_TIMEOUT_SECONDS = 60
ADMIN_PASSWORD = "password"


@pytest.fixture
def admin_user(django_user_model):
    """pytest-django's administrator, with the authenticator app every administrator must have
    (its key in `totp_key`)."""
    user = django_user_model.objects.create_superuser("admin", "admin@example.com", ADMIN_PASSWORD)
    user.totp_key = add_authenticator(user)
    return user


@pytest.fixture
def admin_client(admin_user):
    """A client signed in as the administrator through the sign-in pages, code included."""
    from django.test import Client

    client = Client()
    sign_in(client, admin_user.username, ADMIN_PASSWORD, admin_user.totp_key)
    return client


@pytest.fixture(autouse=True)
def fresh_channel_layer():
    """Give every test its own channel layer, bound to that test's event loop."""
    channel_layers.backends.clear()
    yield
    channel_layers.backends.clear()


@pytest.fixture(autouse=True)
def fresh_knowledge_graph():
    """Make every test build the knowledge graph from its own database."""
    from knowledge import service

    service.forget_graph()
    service.forget_announced_version()
    yield
    service.forget_graph()


@pytest.fixture(autouse=True)
def countdowns_end_with_their_test(monkeypatch):
    """Cancel the embedded default's countdown timers (offer expiry, presence checks, webhook
    deliveries) when a test ends: one left running would fire in a later test, against that
    test's database."""
    from chatbot.webhooks import tasks as webhook_tasks
    from handoff import tasks

    started = []

    class Countdown(tasks.Timer):
        def start(self) -> None:
            started.append(self)
            super().start()

    monkeypatch.setattr(tasks, "Timer", Countdown)
    monkeypatch.setattr(webhook_tasks, "Timer", Countdown)
    yield
    for timer in started:
        timer.cancel()
    for timer in started:
        timer.join(timeout=10)  # one already firing finishes its check first


@pytest.fixture
def requires_services():
    """Skip, with the reason, unless PostgreSQL and Redis are configured."""
    if not settings.REDIS_URL or settings.DATABASES["default"]["ENGINE"].endswith("sqlite3"):
        pytest.skip("needs DATABASE_URL (PostgreSQL) and REDIS_URL: `make test-services` sets them")


def start_celery_worker(
    var_dir: Path,
    queues: str,
    app: str = "chatbot",
    log_name: str = "worker",
    pool: str = "prefork",
    concurrency: int = 1,
    environment: dict | None = None,
):
    """Start a real Celery worker process on the test database and Redis; return it once ready."""
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "chatbot.settings",
        "DATABASE_URL": child_process_database_url(),
        "VAR_DIR": str(var_dir),
        # Offers lapse quickly, so the test of an agent who does not accept stays short.
        "HANDOFF_OFFER_SECONDS": "3",
        # Webhook receivers in tests listen on 127.0.0.1 and come back soon.
        "WEBHOOK_ALLOW_PRIVATE_URLS": "true",
        "WEBHOOK_RETRY_BASE_SECONDS": "0.05",
        "WEBHOOK_RETRY_MAX_SECONDS": "0.2",
        **(environment or {}),
    }
    worker = ["-m", "celery", "-A", app, "worker", "-Q", queues, "--loglevel", "INFO"]
    pool = ["--concurrency", str(concurrency), "--pool", pool]
    name = ["--hostname", f"{log_name}-%h-{time.monotonic_ns()}"]
    log_path = Path(tempfile.mkdtemp(prefix="chatbot-worker-")) / f"{log_name}.log"
    process = start_logged([*worker, *pool, *name], environment, log_path)
    deadline = time.monotonic() + WORKER_START_TIMEOUT_SECONDS
    while "ready." not in log_path.read_text(errors="replace"):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"the Celery worker did not start:\n{log_path.read_text(errors='replace')}")
        time.sleep(0.2)
    return process


@pytest.fixture(scope="session", autouse=True)
def celery_worker(request):
    """With Redis configured, run a real worker for the whole session, serving the tiny model."""
    if not settings.REDIS_URL:
        yield None
        return
    request.getfixturevalue("django_db_setup")
    var_dir = request.getfixturevalue("tiny_model_var_dir")
    metrics_port = free_port()
    with tempfile.TemporaryDirectory(prefix="chatbot-worker-metrics-") as metrics_directory:
        process = start_celery_worker(
            var_dir,
            "celery,nlu,handoff,webhooks",
            environment={
                "METRICS_PORT": str(metrics_port),
                "PROMETHEUS_MULTIPROC_DIR": metrics_directory,
                # Its spans go to its log, soon after they end (tests/chatbot/test_tracing.py).
                "OTEL_TRACES_EXPORTER": "console",
                "OTEL_BSP_SCHEDULE_DELAY": "100",
            },
        )
        process.metrics_url = f"http://127.0.0.1:{metrics_port}/metrics"
        yield process
        stop(process)
