"""Answer backends: the grounded template by default, or a language model (vLLM, transformers).

The turn engine calls `stream_answer(request, configured_backend(), outcome)`; see
docs/llm.md. The model backends are imported only when configured.
"""

from chatbot.llm.answering import AnswerOutcome, configured_backend, stream_answer
from chatbot.llm.base import AnswerRequest, Backend, BackendError, LlmConfig, Replace
from chatbot.llm.template import TemplateBackend

__all__ = [
    "AnswerOutcome",
    "AnswerRequest",
    "Backend",
    "BackendError",
    "LlmConfig",
    "Replace",
    "TemplateBackend",
    "configured_backend",
    "stream_answer",
]
