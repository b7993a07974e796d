"""The transformers backend: a small causal language model in this process, streamed.

torch and transformers are imported on first use, and the model is loaded once, whichever
thread asks first. Each answer is generated in a thread of its own and read back through a
TextIteratorStreamer; the reading side enforces the first-token, gap and total limits, and a
reader that stops early stops the generation too.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Iterator

from opentelemetry.trace import StatusCode

from chatbot import tracing
from chatbot.llm.base import AnswerRequest, BackendError, LlmConfig
from chatbot.llm.circuit import CircuitBreaker
from chatbot.llm.prompts import build_messages

logger = logging.getLogger(__name__)

_PLAIN_SPEAKERS = {"system": "System", "user": "Visitor", "assistant": "Assistant"}


class LocalModelBackend:
    """Stream answers from a causal language model stored in a folder (LLM_MODEL_PATH)."""

    name = "transformers"

    def __init__(self, config: LlmConfig, circuit: CircuitBreaker | None = None) -> None:
        self.config = config
        self.circuit = circuit or CircuitBreaker(
            config.circuit_failures, config.circuit_reset_seconds
        )
        self._load_lock = threading.Lock()
        self._loaded: tuple | None = None

    def stream(self, request: AnswerRequest) -> Iterator[str]:
        """Yield the answer's text as the model generates it; raise BackendError on failure."""
        return self.circuit.guard(self._traced(request))

    def _traced(self, request: AnswerRequest) -> Iterator[str]:
        # Started when the stream is first read, in the turn's context (chatbot.turns).
        attributes = {"llm.backend": "transformers", "llm.model": self.config.model_path}
        span = tracing.tracer.start_span("llm.generate", attributes=attributes)
        try:
            yield from self._pieces(request)
        except BackendError as error:
            span.set_status(StatusCode.ERROR, str(error))
            raise
        finally:
            span.end()

    def load(self) -> tuple:
        """Return (tokenizer, model), loading them on the first call."""
        with self._load_lock:
            if self._loaded is None:
                self._loaded = self._load()
            return self._loaded

    def _load(self) -> tuple:
        if not self.config.model_path:
            raise BackendError("load", "LLM_MODEL_PATH is not set")
        try:
            from transformers import AutoModelForCausalLM, AutoTokenizer

            tokenizer = AutoTokenizer.from_pretrained(self.config.model_path, local_files_only=True)
            model = AutoModelForCausalLM.from_pretrained(
                self.config.model_path, local_files_only=True
            )
        except Exception as error:
            raise BackendError("load", f"{self.config.model_path}: {error}") from error
        model.eval()
        logger.info("Loaded the language model in %s", self.config.model_path)
        return tokenizer, model

    def _pieces(self, request: AnswerRequest) -> Iterator[str]:
        tokenizer, model = self.load()
        inputs = {
            name: tensor.to(model.device)
            for name, tensor in encoded_prompt(tokenizer, build_messages(request)).items()
        }
        streamer, stop, failures = self._start_generation(tokenizer, model, inputs)
        deadline = time.monotonic() + self.config.total_timeout_seconds
        has_yielded = False
        try:
            streamer.timeout = self.config.first_token_timeout_seconds
            for piece in _read(streamer, deadline):
                if piece:
                    has_yielded = True
                    streamer.timeout = self.config.token_timeout_seconds
                    yield piece
        finally:
            stop.set()
        if not failures.empty():
            raise BackendError("generation", repr(failures.get()))
        if not has_yielded:
            raise BackendError("empty", "the model generated no text")

    def _start_generation(self, tokenizer, model, inputs) -> tuple:
        from transformers import StoppingCriteriaList, TextIteratorStreamer

        streamer = TextIteratorStreamer(tokenizer, skip_prompt=True, skip_special_tokens=True)
        stop = threading.Event()
        failures: queue.SimpleQueue = queue.SimpleQueue()
        options = {
            **inputs,
            "streamer": streamer,
            "max_new_tokens": self.config.max_tokens,
            "stopping_criteria": StoppingCriteriaList([_stop_when(stop)]),
            "pad_token_id": _pad_token_id(tokenizer),
            **_sampling(self.config.temperature),
        }

        def generate() -> None:
            try:
                model.generate(**options)
            except Exception as error:  # raised to the reader once the stream ends
                logger.exception("The language model failed to generate")
                failures.put(error)
                streamer.end()

        threading.Thread(target=generate, name="llm-generate", daemon=True).start()
        return streamer, stop, failures


def encoded_prompt(tokenizer, messages: list[dict]) -> dict:
    """Return the model inputs for the messages, in the tokenizer's chat format if it has one.

    Control tokens inside the messages are encoded as plain text, so a visitor who writes one
    cannot open a turn of their own.
    """
    if getattr(tokenizer, "chat_template", None):
        return dict(
            tokenizer.apply_chat_template(
                messages,
                add_generation_prompt=True,
                tokenize=True,
                return_dict=True,
                return_tensors="pt",
                sanitize_control_tokens=True,
            )
        )
    return dict(tokenizer(plain_prompt(messages), return_tensors="pt", split_special_tokens=True))


def plain_prompt(messages: list[dict]) -> str:
    """Return the messages as a "System:/Visitor:/Assistant:" transcript awaiting the answer."""
    lines = [f"{_PLAIN_SPEAKERS[message['role']]}: {message['content']}" for message in messages]
    return "\n\n".join([*lines, "Assistant:"])


def _read(streamer, deadline: float) -> Iterator[str]:
    try:
        for piece in streamer:
            yield piece
            if time.monotonic() > deadline:
                raise BackendError("timeout", "waited too long for the whole answer")
    except queue.Empty:
        raise BackendError("timeout", "the model stopped producing tokens") from None


def _pad_token_id(tokenizer) -> int | None:
    if tokenizer.pad_token_id is not None:
        return tokenizer.pad_token_id
    return tokenizer.eos_token_id


def _sampling(temperature: float) -> dict:
    if temperature <= 0:
        return {"do_sample": False}
    return {"do_sample": True, "temperature": temperature}


def _stop_when(event: threading.Event):
    from transformers import StoppingCriteria

    class StopWhenSet(StoppingCriteria):
        """Stop generating once the reader has gone."""

        def __call__(self, input_ids, scores, **kwargs):
            import torch

            return torch.full((input_ids.shape[0],), event.is_set(), dtype=torch.bool)

    return StopWhenSet()
