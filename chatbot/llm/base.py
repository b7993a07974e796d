"""What every answer backend shares: the request it answers, its configuration and its errors.

Plain Python: no Django. A backend streams the text of one answer, piece by piece, and raises
`BackendError` when it cannot; the caller falls back to the grounded template answer.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

ROLES = ("visitor", "bot", "agent")


@dataclass(frozen=True)
class AnswerRequest:
    """Everything a backend may use to answer the visitor's latest message.

    `question` is the visitor's own words and never trusted. `template_answer` is the answer
    rendered from graph facts: always a valid reply on its own. `facts` are the statements the
    answer may use and `sources` the node keys they came from. `recent_turns` are the turns
    before the question, oldest first, as (role, text) with role in `ROLES`; `summary` sums up
    the turns older than those ("" when there are none).
    """

    question: str
    template_answer: str
    facts: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    recent_turns: tuple[tuple[str, str], ...] = ()
    summary: str = ""
    language: str = "en"


@dataclass(frozen=True)
class Replace:
    """Discard what was streamed of this answer so far: the answer is `text` instead."""

    text: str


class BackendError(Exception):
    """A backend could not answer; `reason` says why in a word ("timeout", "http_503", ...)."""

    def __init__(self, reason: str, detail: str = "", *, is_retryable: bool = False) -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail
        self.is_retryable = is_retryable


class Backend(Protocol):
    """Something that streams an answer's text."""

    name: str

    def stream(self, request: AnswerRequest) -> Iterator[str]:
        """Yield the answer's text as it is produced; raise BackendError when it cannot."""
        ...


@dataclass(frozen=True)
class LlmConfig:
    """How the model backends run; the defaults are those of the settings."""

    backend: str = "template"
    base_url: str = "http://127.0.0.1:8001/v1"
    api_key: str = ""
    model: str = "Qwen/Qwen2.5-1.5B-Instruct"
    model_path: str = ""
    max_tokens: int = 200
    temperature: float = 0.2
    connect_timeout_seconds: float = 2.0
    first_token_timeout_seconds: float = 3.0
    token_timeout_seconds: float = 2.0
    total_timeout_seconds: float = 15.0
    retries: int = 1
    retry_backoff_seconds: float = 0.2
    circuit_failures: int = 3
    circuit_reset_seconds: float = 30.0
