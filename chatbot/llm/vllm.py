"""The vLLM backend: stream an answer from an OpenAI-compatible chat-completions API.

Plain Python. The HTTP work runs on one event loop in a background thread, where asyncio's
timeouts bound each phase exactly: connecting, the first token, each gap between tokens (a
stalled stream) and the whole answer. `stream()` hands the pieces to the calling thread. A
failure before the first piece is retried (connect errors, 5xx, timeouts, a cut stream; never a
4xx) with a short jittered backoff; after it, the error is raised and the caller falls back.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import queue
import random
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import httpx
from opentelemetry.trace import StatusCode

from chatbot import tracing
from chatbot.llm.base import AnswerRequest, BackendError, LlmConfig
from chatbot.llm.circuit import CircuitBreaker
from chatbot.llm.prompts import build_messages, canary

logger = logging.getLogger(__name__)

# Beyond the answer's own deadline, how long the calling thread waits for the event loop.
_HANDOVER_MARGIN_SECONDS = 5.0
_ERROR_BODY_CHARACTERS = 300


@dataclass(frozen=True)
class ChatChunk:
    """One streamed chat-completion chunk: new text, why it ended, tokens so far if reported."""

    content: str = ""
    finish_reason: str | None = None
    completion_tokens: int | None = None


DONE = ChatChunk(finish_reason="[DONE]")


class VllmBackend:
    """Stream answers from a vLLM server (or any OpenAI-compatible chat-completions API)."""

    name = "vllm"

    def __init__(self, config: LlmConfig, circuit: CircuitBreaker | None = None) -> None:
        self.config = config
        self.circuit = circuit or CircuitBreaker(
            config.circuit_failures, config.circuit_reset_seconds
        )
        self._client: httpx.AsyncClient | None = None
        self._client_loop: asyncio.AbstractEventLoop | None = None

    def stream(self, request: AnswerRequest) -> Iterator[str]:
        """Yield the answer's text as the server streams it; raise BackendError on failure."""
        return self.circuit.guard(self._handed_over(request))

    def close(self) -> None:
        """Close the connection pool."""
        if self._client is not None:
            asyncio.run_coroutine_threadsafe(self._client.aclose(), _event_loop()).result()
            self._client = None

    def payload(self, request: AnswerRequest) -> dict:
        """Return the chat-completions request body for an answer."""
        return {
            "model": self.config.model,
            "messages": build_messages(request),
            "max_tokens": self.config.max_tokens,
            "temperature": self.config.temperature,
            "stream": True,
        }

    def _handed_over(self, request: AnswerRequest) -> Iterator[str]:
        """Run the stream on the event loop; yield its pieces in this thread."""
        pieces: queue.SimpleQueue = queue.SimpleQueue()
        # The loop's task does not inherit this thread's context: the turn's span goes along.
        turn = tracing.current_context()
        task = asyncio.run_coroutine_threadsafe(self._produce(request, pieces, turn), _event_loop())
        wait_seconds = (
            self.config.total_timeout_seconds
            + self.config.connect_timeout_seconds
            + _HANDOVER_MARGIN_SECONDS
        )
        try:
            while True:
                try:
                    item = pieces.get(timeout=wait_seconds)
                except queue.Empty:
                    raise BackendError("timeout", "the event loop did not answer") from None
                if item is DONE:
                    return
                if isinstance(item, BackendError):
                    raise item
                yield item
        finally:
            task.cancel()

    async def _produce(self, request: AnswerRequest, pieces: queue.SimpleQueue, turn) -> None:
        attributes = {"llm.backend": "vllm", "llm.model": self.config.model}
        with tracing.tracer.start_as_current_span(
            "llm.generate", context=turn, attributes=attributes
        ) as span:
            try:
                async for piece in self._pieces(request):
                    pieces.put(piece)
                pieces.put(DONE)
            except BackendError as error:
                span.set_status(StatusCode.ERROR, str(error))
                pieces.put(error)
            except Exception as error:
                logger.exception("The vLLM stream failed unexpectedly")
                span.set_status(StatusCode.ERROR, repr(error))
                pieces.put(BackendError("error", repr(error)))

    async def _pieces(self, request: AnswerRequest) -> AsyncIterator[str]:
        """Yield the answer's pieces, retrying a failed attempt until one piece has come."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.config.total_timeout_seconds
        payload = self.payload(request)
        attempt = 0
        has_yielded = False
        while True:
            try:
                async for piece in self._attempt(payload, deadline):
                    has_yielded = True
                    yield piece
                if not has_yielded:
                    raise BackendError("empty", "the model answered nothing")
                return
            except BackendError as error:
                backoff = self._backoff(attempt)
                if (
                    has_yielded
                    or not error.is_retryable
                    or attempt >= self.config.retries
                    or loop.time() + backoff >= deadline
                ):
                    raise
                logger.info("Retrying the vLLM request after %s", error)
                attempt += 1
                await asyncio.sleep(backoff)

    async def _attempt(self, payload: dict, deadline: float) -> AsyncIterator[str]:
        """Make one request; yield its pieces within the first-token, gap and total limits."""
        loop = asyncio.get_running_loop()
        first_token_deadline = loop.time() + self.config.first_token_timeout_seconds
        waiting_for = "the first token"
        try:
            async with asyncio.timeout_at(min(first_token_deadline, deadline)) as limit:
                async with self._http().stream(
                    "POST", self._url(), json=payload, headers=self._headers()
                ) as response:
                    await _raise_for_status(response)
                    async for chunk in chat_chunks(response):
                        if chunk.content:
                            waiting_for = "the next token"
                            gap_deadline = loop.time() + self.config.token_timeout_seconds
                            limit.reschedule(min(gap_deadline, deadline))
                            yield chunk.content
        except TimeoutError:
            if loop.time() >= deadline:
                waiting_for = "the whole answer"
            detail = f"waited too long for {waiting_for}"
            raise BackendError("timeout", detail, is_retryable=True) from None
        except httpx.HTTPError as error:
            raise _backend_error(error) from error

    def _backoff(self, attempt: int) -> float:
        return self.config.retry_backoff_seconds * (2**attempt) * random.uniform(0.5, 1.5)

    def _http(self) -> httpx.AsyncClient:
        """Return the connection pool, made on this event loop (a forked process has a new one)."""
        loop = asyncio.get_running_loop()
        if self._client is None or self._client_loop is not loop:
            self._client_loop = loop
            timeout = httpx.Timeout(
                connect=self.config.connect_timeout_seconds,
                read=None,  # the first-token and gap limits bound reading
                write=self.config.connect_timeout_seconds,
                pool=self.config.connect_timeout_seconds,
            )
            self._client = httpx.AsyncClient(timeout=timeout)
        return self._client

    def _url(self) -> str:
        return self.config.base_url.rstrip("/") + "/chat/completions"

    def _headers(self) -> dict:
        # traceparent: a vLLM server with tracing on continues the turn's trace.
        headers = {"Accept": "text/event-stream", **tracing.carrier()}
        if self.config.api_key:
            headers["Authorization"] = f"Bearer {self.config.api_key}"
        return headers


async def chat_chunks(response: httpx.Response) -> AsyncIterator[ChatChunk]:
    """Yield the chunks of a streamed chat completion until `data: [DONE]`."""
    async for line in response.aiter_lines():
        chunk = parse_event_line(line)
        if chunk is DONE:
            return
        if chunk is not None:
            yield chunk
    raise BackendError("incomplete", "the stream ended before [DONE]", is_retryable=True)


def parse_event_line(line: str) -> ChatChunk | None:
    """Return the chunk a server-sent-events line carries, DONE at the end, None for others."""
    if not line.startswith("data:"):
        return None  # blank separators, comments (": ping"), event and id fields
    data = line[len("data:") :].strip()
    if data == "[DONE]":
        return DONE
    try:
        event = json.loads(data)
    except ValueError:
        raise BackendError("malformed_chunk", f"not JSON: {_excerpt(data)!r}") from None
    if not isinstance(event, dict):
        raise BackendError("malformed_chunk", f"not an object: {_excerpt(data)!r}")
    if "error" in event:
        raise BackendError("stream_error", _excerpt(str(event["error"]), _ERROR_BODY_CHARACTERS))
    return _chunk_of(event, data)


def _chunk_of(event: dict, data: str) -> ChatChunk:
    choices = event.get("choices")
    if not isinstance(choices, list):
        raise BackendError("malformed_chunk", f"no choices: {_excerpt(data)!r}")
    usage = event.get("usage") or {}
    tokens = usage.get("completion_tokens") if isinstance(usage, dict) else None
    if not choices:  # the usage report that closes a stream
        return ChatChunk(completion_tokens=tokens)
    choice = choices[0]
    delta = choice.get("delta") if isinstance(choice, dict) else None
    if not isinstance(delta, dict):
        raise BackendError("malformed_chunk", f"no delta: {_excerpt(data)!r}")
    content = delta.get("content") or ""
    if not isinstance(content, str):
        raise BackendError("malformed_chunk", f"content is not text: {_excerpt(data)!r}")
    return ChatChunk(content, choice.get("finish_reason"), tokens)


def _excerpt(text: str, characters: int = 80) -> str:
    """Return the start of a server's text for an error message, without the prompt's canary
    (a server may echo the prompt, and errors are logged and traced)."""
    return text.replace(canary(), "[canary]")[:characters]


async def _raise_for_status(response: httpx.Response) -> None:
    if response.status_code < 400:
        return
    body = _excerpt((await response.aread()).decode(errors="replace"), _ERROR_BODY_CHARACTERS)
    raise BackendError(
        f"http_{response.status_code}", body, is_retryable=response.status_code >= 500
    )


def _backend_error(error: httpx.HTTPError) -> BackendError:
    if isinstance(error, httpx.ConnectError | httpx.ConnectTimeout):
        return BackendError("connect", str(error), is_retryable=True)
    if isinstance(error, httpx.TimeoutException):
        return BackendError("timeout", str(error), is_retryable=True)
    if isinstance(error, httpx.TransportError):
        return BackendError("connection_lost", str(error), is_retryable=True)
    return BackendError("http_error", str(error))


_loop: asyncio.AbstractEventLoop | None = None
_loop_pid = 0
_loop_lock = threading.Lock()


def _event_loop() -> asyncio.AbstractEventLoop:
    """Return this process's event loop for model requests, started on first use."""
    global _loop, _loop_pid
    with _loop_lock:
        # A forked worker inherits the variable but not the thread that runs the loop.
        if _loop is None or _loop_pid != os.getpid():
            _loop = asyncio.new_event_loop()
            _loop_pid = os.getpid()
            threading.Thread(target=_loop.run_forever, name="llm-http", daemon=True).start()
        return _loop
