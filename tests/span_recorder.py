"""Record the spans a test makes, with the OpenTelemetry SDK in this process."""

import threading

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider


class SpanRecorder(SpanProcessor):
    """Keeps ended spans while a test asks for them; drops them otherwise."""

    def __init__(self) -> None:
        self.spans: list[ReadableSpan] = []
        self.recording = False
        self._lock = threading.Lock()

    def on_end(self, span: ReadableSpan) -> None:
        if self.recording:
            with self._lock:
                self.spans.append(span)

    def named(self, name: str) -> list[ReadableSpan]:
        with self._lock:
            return [span for span in self.spans if span.name == name]


_recorder = SpanRecorder()


@pytest.fixture
def recorded_spans() -> SpanRecorder:
    """The spans ended during the test. The SDK is installed in this process once, at first use."""
    if isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider):
        provider = TracerProvider()
        provider.add_span_processor(_recorder)
        trace.set_tracer_provider(provider)
    _recorder.spans.clear()
    _recorder.recording = True
    yield _recorder
    _recorder.recording = False
    _recorder.spans.clear()
