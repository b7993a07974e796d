"""A vLLM-phrased answer over the widget's websocket: streamed, recorded, replaced when unsound."""

import pytest
from channels.db import database_sync_to_async

from chatbot.llm import answering
from chatbot.models import Event
from tests.chatbot.socket_client import WidgetClient, events_in
from tests.llm.fake_openai_server import Status, Stream

pytestmark = [pytest.mark.websocket, pytest.mark.django_db(transaction=True)]

TEMPLATE = "Cards arrive within 5 working days, or 2 with express delivery for 4.99 GBP."


@pytest.fixture
def vllm_backend(settings, fake_server):
    settings.LLM_BACKEND = "vllm"
    settings.VLLM_BASE_URL = fake_server.base_url
    settings.LLM_RETRIES = 0
    settings.LLM_FIRST_TOKEN_TIMEOUT_SECONDS = 1.0
    answering.forget_configured_backend()
    yield fake_server
    answering.forget_configured_backend()


async def ask(text: str) -> tuple[list[dict], dict]:
    client = WidgetClient()
    assert await client.connect()
    await client.hello()
    await client.say(text)
    frames = await client.receive_answer()
    await client.close()
    return frames, events_in(frames)[-1]


async def test_the_models_words_stream_and_the_answer_records_who_answered(
    stored_bank, tiny_model, vllm_backend
):
    vllm_backend.respond(Stream(tokens=["Your card ", "should arrive ", "within 5 working days."]))

    frames, reply = await ask("when will my card be delivered")

    deltas = [frame["text"] for frame in frames if frame["type"] == "stream_delta"]
    assert deltas == ["Your card should arrive within 5 working days."]
    assert reply["text"] == "Your card should arrive within 5 working days."
    assert reply["data"]["answered_by"] == "vllm"
    assert reply["data"]["sources"][0]["key"] == "topic:card_arrival"
    prompt = vllm_backend.requests[-1].body["messages"]
    assert "5" in prompt[0]["content"] and "when will my card be delivered" in prompt[-1]["content"]


async def test_a_server_error_falls_back_to_the_grounded_answer(
    stored_bank, tiny_model, vllm_backend
):
    vllm_backend.respond(Status(503))

    _, reply = await ask("when will my card be delivered")

    assert reply["text"] == TEMPLATE
    assert (reply["data"]["answered_by"], reply["data"]["fallback_reason"]) == (
        "template",
        "http_503",
    )


async def test_an_invented_amount_is_replaced_on_screen_and_in_the_log(
    stored_bank, tiny_model, vllm_backend
):
    vllm_backend.respond(
        Stream(tokens=["Your card comes in 5 days. ", "Delivery ", "takes 1 day."])
    )

    frames, reply = await ask("when will my card be delivered")

    deltas = [frame["text"] for frame in frames if frame["type"] == "stream_delta"]
    replaced = [frame for frame in frames if frame["type"] == "stream_replace"]
    assert deltas == ["Your card comes in 5 days. "]
    assert [frame["text"] for frame in replaced] == [TEMPLATE]
    assert reply["text"] == TEMPLATE
    assert reply["data"]["fallback_reason"] == "unsupported_number"
    stored = await database_sync_to_async(lambda: Event.objects.filter(author="bot").get().text)()
    assert stored == TEMPLATE


async def test_the_model_call_is_a_span_of_the_turn_and_carries_its_trace_to_the_server(
    stored_bank, tiny_model, vllm_backend, recorded_spans
):
    vllm_backend.respond(Stream(tokens=["Your card ", "should arrive ", "within 5 working days."]))

    await ask("when will my card be delivered")

    (engine,) = recorded_spans.named("chat.engine")
    (generate,) = recorded_spans.named("llm.generate")
    assert generate.parent.span_id == engine.context.span_id
    assert generate.attributes["llm.backend"] == "vllm"
    # W3C traceparent: version-traceid-spanid-flags; the server sees the model call's span.
    headers = {k.lower(): v for k, v in vllm_backend.requests[-1].headers.items()}
    _, trace_id, span_id, _ = headers["traceparent"].split("-")
    assert int(trace_id, 16) == generate.context.trace_id
    assert int(span_id, 16) == generate.context.span_id
