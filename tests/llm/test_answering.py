import pytest

from chatbot.llm import answering
from chatbot.llm.answering import AnswerOutcome, configured_backend, stream_answer
from chatbot.llm.base import BackendError, LlmConfig, Replace
from chatbot.llm.local import LocalModelBackend
from chatbot.llm.template import TemplateBackend, pieces_of
from chatbot.llm.vllm import VllmBackend
from tests.llm.answer_requests import TEMPLATE_ANSWER, card_request
from tests.llm.fake_openai_server import Status, Stream


class ScriptedBackend:
    """A model backend that yields the given pieces, then raises the given error."""

    name = "vllm"

    def __init__(self, pieces: list[str], error: Exception | None = None) -> None:
        self.pieces = pieces
        self.error = error
        self.is_closed = False

    def stream(self, request):
        try:
            yield from self.pieces
            if self.error:
                raise self.error
        finally:
            self.is_closed = True


def answer(backend) -> tuple[list, AnswerOutcome]:
    outcome = AnswerOutcome()
    return list(stream_answer(card_request(), backend, outcome)), outcome


def test_the_template_backend_streams_the_template_answer_a_few_words_at_a_time():
    items, outcome = answer(TemplateBackend())

    assert items == pieces_of(TEMPLATE_ANSWER)
    assert "".join(items) == TEMPLATE_ANSWER
    assert (outcome.backend, outcome.answered_by, outcome.fallback_reason) == (
        "template",
        "template",
        None,
    )
    assert outcome.text == TEMPLATE_ANSWER


def test_a_grounded_model_answer_streams_a_sentence_at_a_time_once_it_is_judged_whole():
    pieces = ["A new card ", "is £4.99. ", "It comes ", "in 5 days."]

    items, outcome = answer(ScriptedBackend(pieces))

    assert items == ["A new card is £4.99. ", "It comes in 5 days."]
    assert (outcome.answered_by, outcome.fallback_reason, outcome.is_replaced) == (
        "vllm",
        None,
        False,
    )
    assert outcome.text == "A new card is £4.99. It comes in 5 days."


def test_a_failure_before_the_first_piece_streams_the_template_answer_instead():
    items, outcome = answer(ScriptedBackend([], BackendError("timeout")))

    assert items == pieces_of(TEMPLATE_ANSWER)
    assert (outcome.backend, outcome.answered_by, outcome.fallback_reason) == (
        "vllm",
        "template",
        "timeout",
    )
    assert not outcome.is_replaced


def test_a_failure_mid_answer_replaces_it_with_the_template_answer():
    backend = ScriptedBackend(["A new card ", "is £4.99. ", "It "], BackendError("malformed_chunk"))

    items, outcome = answer(backend)

    assert items == ["A new card is £4.99. ", Replace(TEMPLATE_ANSWER)]
    assert (outcome.answered_by, outcome.fallback_reason, outcome.is_replaced) == (
        "template",
        "malformed_chunk",
        True,
    )
    assert outcome.text == TEMPLATE_ANSWER


def test_an_unexpected_exception_still_falls_back():
    items, outcome = answer(ScriptedBackend(["A new card is £4.99. "], RuntimeError("bug")))

    assert items == ["A new card is £4.99. ", Replace(TEMPLATE_ANSWER)]
    assert outcome.fallback_reason == "error"


def test_a_backend_that_fails_on_being_asked_falls_back():
    class Unreachable:
        name = "vllm"

        def stream(self, request):
            raise BackendError("circuit_open")

    items, outcome = answer(Unreachable())

    assert items == pieces_of(TEMPLATE_ANSWER)
    assert outcome.fallback_reason == "circuit_open"


def test_an_invented_number_at_the_very_end_is_never_shown_before_it_is_replaced():
    items, outcome = answer(
        ScriptedBackend(["Cards come in 5 days. ", "A new card ", "costs £3.50."])
    )

    assert items == ["Cards come in 5 days. ", Replace(TEMPLATE_ANSWER)]
    assert (outcome.answered_by, outcome.fallback_reason) == ("template", "unsupported_number")


def test_an_invented_number_cuts_the_stream_as_soon_as_it_is_complete():
    backend = ScriptedBackend(["It comes in 5 days. ", "A new card costs £3.50 ", "and more."])

    items, outcome = answer(backend)

    assert items == ["It comes in 5 days. ", Replace(TEMPLATE_ANSWER)]
    assert outcome.fallback_reason == "unsupported_number"
    assert backend.is_closed


def test_an_invented_number_in_the_first_piece_streams_the_template_instead():
    items, outcome = answer(ScriptedBackend(["It is free: £0 ", "today."]))

    assert items == pieces_of(TEMPLATE_ANSWER)
    assert (outcome.fallback_reason, outcome.is_replaced) == ("unsupported_number", False)


def test_a_blank_model_answer_is_replaced_by_the_template_answer_streamed():
    items, outcome = answer(ScriptedBackend(["  "]))

    assert items == pieces_of(TEMPLATE_ANSWER)
    assert outcome.fallback_reason == "empty"


def test_a_reader_that_stops_early_closes_the_backends_stream():
    backend = ScriptedBackend(["A new card is £4.99. ", "It comes in 5 days."])
    stream = stream_answer(card_request(), backend)

    next(stream)
    stream.close()

    assert backend.is_closed


def test_the_vllm_backend_falls_back_to_the_template_when_the_server_fails(fake_server):
    fake_server.default = Status(503)
    config = LlmConfig(backend="vllm", base_url=fake_server.base_url, retry_backoff_seconds=0.01)
    backend = VllmBackend(config)
    outcome = AnswerOutcome()

    items = list(stream_answer(card_request(), backend, outcome))

    assert "".join(items) == TEMPLATE_ANSWER
    assert (outcome.answered_by, outcome.fallback_reason) == ("template", "http_503")
    backend.close()


def test_the_vllm_backend_answers_through_the_fake_server(fake_server):
    fake_server.respond(Stream(["Express delivery ", "takes 2 days."]))
    backend = VllmBackend(LlmConfig(backend="vllm", base_url=fake_server.base_url))
    outcome = AnswerOutcome()

    items = list(stream_answer(card_request(), backend, outcome))

    assert items == ["Express delivery takes 2 days."]
    assert (outcome.answered_by, outcome.text) == ("vllm", "Express delivery takes 2 days.")
    backend.close()


@pytest.fixture
def fresh_backend():
    answering.forget_configured_backend()
    yield
    answering.forget_configured_backend()


def test_the_configured_backend_is_the_template_by_default(settings, fresh_backend):
    settings.LLM_BACKEND = "template"

    assert isinstance(configured_backend(), TemplateBackend)


def test_the_configured_vllm_backend_reads_the_settings_and_is_built_once(settings, fresh_backend):
    settings.LLM_BACKEND = "vllm"
    settings.VLLM_BASE_URL = "http://gpu-host:8001/v1"
    settings.LLM_MODEL = "Qwen/Qwen2.5-1.5B-Instruct"
    settings.LLM_RETRIES = 2
    settings.LLM_CIRCUIT_FAILURES = 5

    backend = configured_backend()

    assert isinstance(backend, VllmBackend)
    assert backend.config.base_url == "http://gpu-host:8001/v1"
    assert backend.config.retries == 2
    assert backend.circuit.failure_threshold == 5
    assert configured_backend() is backend


def test_the_configured_transformers_backend_loads_nothing_until_asked(settings, fresh_backend):
    settings.LLM_BACKEND = "transformers"
    settings.LLM_MODEL_PATH = "/nowhere"

    backend = configured_backend()

    assert isinstance(backend, LocalModelBackend)
    assert backend.config.model_path == "/nowhere"


def test_an_answer_whose_flattened_end_changes_what_was_shown_is_shown_again_whole():
    backend = ScriptedBackend(["A new card is £4.99.\n", "**</b> *"])

    items, outcome = answer(backend)

    assert items == ["A new card is £4.99.\n", " ", Replace("A new card is £4.99.\n")]
    assert (outcome.answered_by, outcome.fallback_reason, outcome.is_replaced) == (
        "vllm",
        None,
        True,
    )
    assert outcome.text == "A new card is £4.99.\n"
