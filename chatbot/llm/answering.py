"""Stream one answer from the configured backend, falling back to the template answer.

The visitor always gets an answer. The model is assumed compromised (docs/guardrails.md): only
what `chatbot.llm.output_guard` passes of its output is shown, as plain text, a whole sentence
at a time and only once the guard has judged it (a number, an address or a bracket that later
pieces could still change waits), so nothing it refuses is on screen even for a moment. A
model that fails, or whose output the guard refuses, before anything was shown is replaced by
the template answer, streamed; after something was shown, it is followed by
`Replace(template_answer)`. `AnswerOutcome` records
which backend's text stood and why a fallback happened.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass

from chatbot.llm.base import AnswerRequest, Backend, BackendError, LlmConfig, Replace
from chatbot.llm.output_guard import OutputGuard
from chatbot.llm.template import TemplateBackend

logger = logging.getLogger(__name__)


@dataclass
class AnswerOutcome:
    """How an answer turned out, filled in while it streams; complete once the stream ends.

    `backend` is the backend asked, `answered_by` the one whose text the visitor was left with
    ("template" after a fallback), `fallback_reason` why it fell back (a BackendError reason,
    one of the guard's: "unsupported_number", "prompt_leak", "canary", "foreign_link",
    "tool_call", "off_topic", "empty"; or "error"; None without a fallback), `text` the final
    answer and `is_replaced` whether a Replace was yielded.
    """

    backend: str = ""
    answered_by: str = ""
    fallback_reason: str | None = None
    text: str = ""
    is_replaced: bool = False

    @property
    def is_fallback(self) -> bool:
        return self.fallback_reason is not None


def stream_answer(
    request: AnswerRequest, backend: Backend, outcome: AnswerOutcome | None = None
) -> Iterator[str | Replace]:
    """Yield the answer's pieces and, when the model's text cannot stand, a Replace.

    Args:
        request: what to answer; its template answer is the fallback.
        backend: the backend to ask (see `configured_backend()`).
        outcome: filled in as the answer streams, for the caller to store afterwards.

    Returns:
        An iterator of text pieces, then at most one `Replace` carrying the whole answer.
    """
    outcome = outcome if outcome is not None else AnswerOutcome()
    outcome.backend = backend.name
    if isinstance(backend, TemplateBackend):
        yield from _template_answer(request, backend, outcome)
        return
    streamed: list[str] = []
    reason = yield from _model_answer(request, backend, streamed, outcome)
    if reason is None:
        outcome.answered_by, outcome.text = backend.name, "".join(streamed)
        return
    logger.warning("The %s backend's answer fell back to the template: %s", backend.name, reason)
    outcome.fallback_reason = reason
    if streamed:
        outcome.answered_by, outcome.text = "template", request.template_answer
        outcome.is_replaced = True
        yield Replace(request.template_answer)
    else:
        yield from _template_answer(request, TemplateBackend(), outcome)


def _model_answer(
    request: AnswerRequest, backend: Backend, streamed: list[str], outcome: AnswerOutcome
):
    """Yield what the visitor may read of the model's output as it settles; return why the
    output cannot stand, or None when it stood (noted in `streamed`)."""
    guard = OutputGuard(request)
    pieces = None
    output = ""
    try:
        pieces = iter(backend.stream(request))
        for piece in pieces:
            output += piece
            problem = guard.problem_so_far(output)
            if problem is not None:
                return problem
            shown = "".join(streamed)
            visible = guard.visible_so_far(output)
            # Flattening may yet change what a longer output reads as: it waits for the end.
            if visible.startswith(shown) and len(visible) > len(shown):
                streamed.append(visible[len(shown) :])
                yield streamed[-1]
    except BackendError as error:
        logger.info("The %s backend failed: %s", backend.name, error)
        return error.reason
    except Exception:
        logger.exception("The %s backend failed unexpectedly", backend.name)
        return "error"
    finally:
        close = getattr(pieces, "close", None)
        if close is not None:
            close()  # stops the request or the generation when the answer was cut short
    problem = guard.problem(output)
    if problem is not None:
        return problem
    yield from _rest_of(guard.visible(output), streamed, outcome)
    return None


def _rest_of(visible: str, streamed: list[str], outcome: AnswerOutcome) -> Iterator[str | Replace]:
    """Yield what the complete answer adds to what was shown, or Replace it when it differs."""
    shown = "".join(streamed)
    if visible.startswith(shown):
        if len(visible) > len(shown):
            streamed.append(visible[len(shown) :])
            yield streamed[-1]
        return
    streamed[:] = [visible]
    outcome.is_replaced = True
    yield Replace(visible)


def _template_answer(
    request: AnswerRequest, backend: TemplateBackend, outcome: AnswerOutcome
) -> Iterator[str]:
    outcome.answered_by, outcome.text = backend.name, request.template_answer
    yield from backend.stream(request)


_configured: Backend | None = None
_configured_lock = threading.Lock()


def configured_backend() -> Backend:
    """Return the backend the settings choose, built once per process."""
    global _configured
    with _configured_lock:
        if _configured is None:
            _configured = build_backend(config_from_settings())
        return _configured


def forget_configured_backend() -> None:
    """Make the next `configured_backend()` read the settings again (tests, reloads)."""
    global _configured
    with _configured_lock:
        _configured = None


def build_backend(config: LlmConfig) -> Backend:
    """Return a new backend of the configured kind."""
    if config.backend == "vllm":
        from chatbot.llm.vllm import VllmBackend

        return VllmBackend(config)
    if config.backend == "transformers":
        from chatbot.llm.local import LocalModelBackend

        return LocalModelBackend(config)
    return TemplateBackend()


def config_from_settings() -> LlmConfig:
    """Return the language-model configuration from Django's settings."""
    from django.conf import settings

    return LlmConfig(
        backend=settings.LLM_BACKEND,
        base_url=settings.VLLM_BASE_URL,
        api_key=settings.VLLM_API_KEY,
        model=settings.LLM_MODEL,
        model_path=settings.LLM_MODEL_PATH,
        max_tokens=settings.LLM_MAX_TOKENS,
        temperature=settings.LLM_TEMPERATURE,
        connect_timeout_seconds=settings.LLM_CONNECT_TIMEOUT_SECONDS,
        first_token_timeout_seconds=settings.LLM_FIRST_TOKEN_TIMEOUT_SECONDS,
        token_timeout_seconds=settings.LLM_TOKEN_TIMEOUT_SECONDS,
        total_timeout_seconds=settings.LLM_TOTAL_TIMEOUT_SECONDS,
        retries=settings.LLM_RETRIES,
        circuit_failures=settings.LLM_CIRCUIT_FAILURES,
        circuit_reset_seconds=settings.LLM_CIRCUIT_RESET_SECONDS,
    )
