import socket

import pytest

from chatbot.llm.base import BackendError, LlmConfig
from chatbot.llm.circuit import CLOSED, OPEN, CircuitBreaker
from chatbot.llm.prompts import build_messages, canary
from chatbot.llm.vllm import DONE, ChatChunk, VllmBackend, parse_event_line
from tests.llm.answer_requests import card_request
from tests.llm.fake_openai_server import Status, Stream, closed_early, malformed, stalled


def config_for(base_url: str, **changes) -> LlmConfig:
    fields = {
        "backend": "vllm",
        "base_url": base_url,
        "model": "kestrel-chat",
        "max_tokens": 64,
        "temperature": 0.0,
        "connect_timeout_seconds": 1.0,
        # Generous, so that a busy machine never trips them where a test does not mean to.
        "first_token_timeout_seconds": 5.0,
        "token_timeout_seconds": 5.0,
        "total_timeout_seconds": 10.0,
        "retries": 1,
        "retry_backoff_seconds": 0.01,
        "circuit_failures": 3,
        **changes,
    }
    return LlmConfig(**fields)


@pytest.fixture
def make_backend():
    backends = []

    def make(base_url: str, circuit: CircuitBreaker | None = None, **changes) -> VllmBackend:
        backends.append(VllmBackend(config_for(base_url, **changes), circuit))
        return backends[-1]

    yield make
    for backend in backends:
        backend.close()


def read(backend: VllmBackend) -> tuple[list[str], BackendError | None]:
    """Return the pieces a stream yielded and the error that ended it, if any."""
    pieces = []
    try:
        for piece in backend.stream(card_request()):
            pieces.append(piece)
    except BackendError as error:
        return pieces, error
    return pieces, None


def test_it_streams_the_tokens_as_they_come(fake_server, make_backend):
    fake_server.respond(Stream(["A new card ", "costs £4.99."], token_delay_seconds=0.01))

    pieces, error = read(make_backend(fake_server.base_url))

    assert pieces == ["A new card ", "costs £4.99."]
    assert error is None


def test_it_posts_a_streaming_chat_completion_with_the_prompt(fake_server, make_backend):
    backend = make_backend(fake_server.base_url, api_key="s3cret", max_tokens=64, temperature=0.2)

    read(backend)

    [request] = fake_server.requests
    assert request.path == "/v1/chat/completions"
    assert request.headers["Authorization"] == "Bearer s3cret"
    assert request.body == {
        "model": "kestrel-chat",
        "messages": build_messages(card_request()),
        "max_tokens": 64,
        "temperature": 0.2,
        "stream": True,
    }


def test_without_an_api_key_it_sends_no_authorization(fake_server, make_backend):
    read(make_backend(fake_server.base_url, api_key=""))

    assert "Authorization" not in fake_server.requests[0].headers


def test_a_chunk_that_is_not_json_is_malformed_and_not_retried(fake_server, make_backend):
    fake_server.respond(malformed("data: {not json"))

    pieces, error = read(make_backend(fake_server.base_url))

    assert (pieces, error.reason) == ([], "malformed_chunk")
    assert len(fake_server.requests) == 1


def test_a_chunk_without_choices_is_malformed(fake_server, make_backend):
    fake_server.respond(malformed('data: {"id": "chatcmpl-1"}', tokens=["A new card "]))

    pieces, error = read(make_backend(fake_server.base_url))

    assert (pieces, error.reason) == (["A new card "], "malformed_chunk")


def test_an_error_event_in_the_stream_fails_it(fake_server, make_backend):
    fake_server.respond(malformed('data: {"error": {"message": "out of memory"}}'))

    _, error = read(make_backend(fake_server.base_url))

    assert error.reason == "stream_error"
    assert "out of memory" in str(error)


def test_a_stream_that_stalls_after_some_tokens_times_out_without_a_retry(
    fake_server, make_backend
):
    fake_server.respond(stalled(["A new card "], seconds=10))

    pieces, error = read(make_backend(fake_server.base_url, token_timeout_seconds=0.3))

    assert (pieces, error.reason) == (["A new card "], "timeout")
    assert "next token" in error.detail
    assert len(fake_server.requests) == 1


def test_no_first_token_in_time_times_out(fake_server, make_backend):
    fake_server.respond(Stream(first_token_delay_seconds=10))

    backend = make_backend(fake_server.base_url, retries=0, first_token_timeout_seconds=0.3)

    pieces, error = read(backend)

    assert (pieces, error.reason) == ([], "timeout")
    assert "first token" in error.detail


def test_a_late_first_token_is_retried_once(fake_server, make_backend):
    fake_server.respond(Stream(first_token_delay_seconds=10), Stream(["Here it is."]))

    backend = make_backend(fake_server.base_url, retries=1, first_token_timeout_seconds=1.0)

    pieces, error = read(backend)

    assert (pieces, error) == (["Here it is."], None)
    assert len(fake_server.requests) == 2


def test_a_trickling_answer_stops_at_the_total_limit(fake_server, make_backend):
    fake_server.respond(Stream(["word "] * 100, token_delay_seconds=0.1))
    backend = make_backend(fake_server.base_url, total_timeout_seconds=0.5)

    pieces, error = read(backend)

    assert error.reason == "timeout"
    assert "whole answer" in error.detail
    assert 0 < len(pieces) < 100


def test_a_5xx_then_a_stream_succeeds_on_the_retry(fake_server, make_backend):
    fake_server.respond(Status(503), Stream(["A new card costs £4.99."]))

    pieces, error = read(make_backend(fake_server.base_url, retries=1))

    assert (pieces, error) == (["A new card costs £4.99."], None)
    assert len(fake_server.requests) == 2


def test_5xx_every_time_fails_after_the_retries(fake_server, make_backend):
    fake_server.default = Status(503)

    pieces, error = read(make_backend(fake_server.base_url, retries=2))

    assert (pieces, error.reason) == ([], "http_503")
    assert len(fake_server.requests) == 3


def test_a_4xx_is_never_retried(fake_server, make_backend):
    fake_server.respond(Status(400, "prompt too long"), Stream())

    pieces, error = read(make_backend(fake_server.base_url, retries=3))

    assert (pieces, error.reason) == ([], "http_400")
    assert "prompt too long" in error.detail
    assert len(fake_server.requests) == 1


def test_a_refused_connection_fails_with_connect(make_backend):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # Nothing listens on the port any more.

    pieces, error = read(make_backend(f"http://127.0.0.1:{port}/v1", retries=1))

    assert (pieces, error.reason) == ([], "connect")


def test_a_connection_closed_before_any_token_is_retried(fake_server, make_backend):
    fake_server.respond(closed_early(tokens=()), Stream(["Here it is."]))

    pieces, error = read(make_backend(fake_server.base_url, retries=1))

    assert (pieces, error) == (["Here it is."], None)


def test_a_connection_closed_mid_answer_fails_without_a_retry(fake_server, make_backend):
    fake_server.respond(closed_early(tokens=["A new card "]))

    pieces, error = read(make_backend(fake_server.base_url, retries=1))

    assert (pieces, error.reason) == (["A new card "], "incomplete")
    assert len(fake_server.requests) == 1


def test_a_stream_without_text_is_empty(fake_server, make_backend):
    fake_server.respond(Stream(tokens=[]))

    _, error = read(make_backend(fake_server.base_url, retries=0))

    assert error.reason == "empty"


def test_the_circuit_opens_after_consecutive_failures_and_then_fails_fast(
    fake_server, make_backend
):
    fake_server.default = Status(500)
    backend = make_backend(fake_server.base_url, retries=0, circuit_failures=2)

    reasons = [read(backend)[1].reason for _ in range(4)]

    assert reasons == ["http_500", "http_500", "circuit_open", "circuit_open"]
    assert len(fake_server.requests) == 2
    assert backend.circuit.state == OPEN


class Clock:
    now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_successful_probe_after_the_reset_time_closes_the_circuit(fake_server, make_backend):
    clock = Clock()
    circuit = CircuitBreaker(failure_threshold=1, reset_seconds=30, clock=clock)
    backend = make_backend(fake_server.base_url, circuit, retries=0)
    fake_server.respond(Status(502))
    assert read(backend)[1].reason == "http_502"
    assert read(backend)[1].reason == "circuit_open"

    clock.now += 30
    pieces, error = read(backend)

    assert (pieces, error) == (["Hello", " there."], None)
    assert circuit.state == CLOSED
    assert len(fake_server.requests) == 2


def test_server_sent_event_lines_are_parsed():
    role = '{"choices": [{"index": 0, "delta": {"role": "assistant"}, "finish_reason": null}]}'
    usage = '{"choices": [], "usage": {"completion_tokens": 7}}'

    assert parse_event_line(": ping") is None
    assert parse_event_line("") is None
    assert parse_event_line("data: [DONE]") is DONE
    assert parse_event_line("data: " + role) == ChatChunk("", None, None)
    assert parse_event_line("data:" + usage) == ChatChunk(completion_tokens=7)


def test_an_error_that_echoes_the_prompt_is_reported_without_its_canary(fake_server):
    fake_server.respond(Status(400, f"bad prompt: ... marker {canary()} ..."))
    backend = VllmBackend(LlmConfig(backend="vllm", base_url=fake_server.base_url))

    with pytest.raises(BackendError) as raised:
        list(backend.stream(card_request()))

    assert canary() not in str(raised.value)
    assert "[canary]" in raised.value.detail
    backend.close()
