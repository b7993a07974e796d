"""OpenTelemetry tracing of a turn: the web process, the worker that classifies, the model call.

Off by default. The standard variables turn it on and configure it: OTEL_TRACES_EXPORTER
(`otlp`, the default once tracing is on, or `console`; `none` turns it off) or an OTLP endpoint
(OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT), with OTEL_SERVICE_NAME,
OTEL_RESOURCE_ATTRIBUTES, OTEL_TRACES_SAMPLER and OTEL_BSP_* read by the SDK itself.
OTEL_SDK_DISABLED=true wins over everything. Until `configure_tracing` installs the SDK, spans
are the API's no-op ones, which cost next to nothing.

A turn's context crosses processes as a W3C `traceparent`: in each classification request, and
in the headers of the language model's HTTP request.
"""

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager

from opentelemetry import context, propagate, trace

logger = logging.getLogger(__name__)

tracer = trace.get_tracer("chatbot")

_ENDPOINTS = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")


def requested_exporter() -> str | None:
    """The exporter the environment asks for (`otlp`, `console`), or None: tracing is off."""
    if os.environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return None
    named = os.environ.get("OTEL_TRACES_EXPORTER", "").strip().lower()
    if named:
        return None if named == "none" else named
    return "otlp" if any(os.environ.get(name) for name in _ENDPOINTS) else None


def configure_tracing(default_service_name: str) -> bool:
    """Install the SDK with the exporter the environment asks for; return whether it did.

    Once per process: a second call, or one after another provider was installed, does nothing.
    """
    exporter_name = requested_exporter()
    if exporter_name is None or not isinstance(
        trace.get_tracer_provider(), trace.ProxyTracerProvider
    ):
        return False
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter

    if exporter_name == "console":
        exporter = ConsoleSpanExporter()
    elif exporter_name == "otlp":
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        exporter = OTLPSpanExporter()
    else:
        from django.core.exceptions import ImproperlyConfigured

        raise ImproperlyConfigured(
            f"OTEL_TRACES_EXPORTER={exporter_name!r}: this platform ships otlp, console or none"
        )
    # A name in OTEL_SERVICE_NAME or OTEL_RESOURCE_ATTRIBUTES wins over the default one
    # (Resource.create reads both; attributes given here would override them).
    named = os.environ.get("OTEL_SERVICE_NAME") or "service.name=" in os.environ.get(
        "OTEL_RESOURCE_ATTRIBUTES", ""
    )
    resource = Resource.create({} if named else {SERVICE_NAME: default_service_name})
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(BatchSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    logger.info("Tracing on: %s exporter, service %s", exporter_name, default_service_name)
    return True


def carrier() -> dict[str, str]:
    """The current span's context as W3C headers, to travel with a request ({} when off)."""
    headers: dict[str, str] = {}
    propagate.inject(headers)
    return headers


@contextmanager
def span_in(headers: dict | None, name: str, **attributes) -> Iterator[trace.Span]:
    """A span whose parent is the context that `headers` carried (a new trace without one)."""
    parent = propagate.extract(headers or {})
    with tracer.start_as_current_span(name, context=parent, attributes=attributes) as span:
        yield span


def current_context() -> context.Context:
    """The context to hand to work that runs on another thread's event loop."""
    return context.get_current()
