"""/metrics for Prometheus: what the processes recorded, and what the database says now.

The recorded part (`chatbot.metrics`) is summed over the host's processes when
PROMETHEUS_MULTIPROC_DIR is set. The state part is read at scrape time, once, by whichever
process answers: the handoff queue, and the versions of the knowledge graph and the intent model.
"""

import hmac
import os

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.http import require_GET
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    generate_latest,
    multiprocess,
    start_http_server,
)
from prometheus_client.core import GaugeMetricFamily

from chatbot.nlu.artefacts import promoted_version
from handoff.models import Handoff
from knowledge.loading import stored_version

LOOPBACK = {"127.0.0.1", "::1"}


class StateCollector:
    """Gauges read from the database and the model store when scraped."""

    def collect(self):
        waiting = Handoff.objects.filter(status=Handoff.Status.WAITING)
        oldest = waiting.order_by("requested_at").values_list("requested_at", flat=True).first()
        yield _gauge(
            "handoff_queue_length", "Conversations waiting for a person now.", waiting.count()
        )
        yield _gauge(
            "handoff_queue_oldest_wait_seconds",
            "How long the longest-waiting conversation in the queue has waited (0: none waits).",
            (timezone.now() - oldest).total_seconds() if oldest else 0.0,
        )
        yield _gauge(
            "handoff_assigned",
            "Conversations with an agent now.",
            Handoff.objects.filter(status=Handoff.Status.ASSIGNED).count(),
        )
        yield _gauge(
            "knowledge_graph_version", "The stored knowledge graph's version.", stored_version()
        )
        model = GaugeMetricFamily(
            "chatbot_intent_model_info",
            "The promoted intent model (its version as a label; none before any training).",
            labels=["version"],
        )
        model.add_metric([promoted_version() or "none"], 1)
        yield model


def _gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, value=value)


def recorded_registry() -> CollectorRegistry:
    """What this host's processes recorded: summed from the multiprocess files, or this one's."""
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return REGISTRY
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    return registry


def may_scrape(request: HttpRequest) -> bool:
    """With METRICS_TOKEN, a request bearing it; without, only one from this host."""
    if settings.METRICS_TOKEN:
        given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        return hmac.compare_digest(given.encode(), settings.METRICS_TOKEN.encode())
    return request.META.get("REMOTE_ADDR") in LOOPBACK


@require_GET
def metrics_view(request: HttpRequest) -> HttpResponse:
    """The text exposition of every metric, for a Prometheus scrape."""
    if not may_scrape(request):
        response = HttpResponse(
            "Metrics need the scrape token (Authorization: Bearer ...).\n",
            status=401 if settings.METRICS_TOKEN else 403,
            content_type="text/plain; charset=utf-8",
        )
        if settings.METRICS_TOKEN:
            response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    state = CollectorRegistry()
    state.register(StateCollector())
    body = generate_latest(recorded_registry()) + generate_latest(state)
    return HttpResponse(body, content_type=CONTENT_TYPE_LATEST)


def serve_worker_metrics(port: int) -> None:
    """A worker's own /metrics on PORT: what its processes recorded, without the state part."""
    start_http_server(port, registry=recorded_registry())
