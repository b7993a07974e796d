"""A turn on masked text: the language model never reads personal data, and the block-card task
still gets its card's last four digits from a masked card number."""

from chatbot import engine
from chatbot.nlu.entities import extract_entities
from chatbot.personal_data import mask
from tests.chatbot import test_answering_in_context as bank
from tests.chatbot import test_dialogue as cards

CARD = "4111 1111 1111 1111"


class RecordingBackend:
    """A language model that remembers the requests it was asked and answers nothing new."""

    name = "vllm"

    def __init__(self) -> None:
        self.requests = []

    def stream(self, request):
        self.requests.append(request)
        yield request.template_answer


def test_the_language_model_reads_the_visitor_s_words_masked_whoever_passed_them_in():
    backend = RecordingBackend()
    configuration = engine.TurnConfiguration(backend=backend)
    earlier = (("visitor", "my email is ada@example.com"), ("bot", "Thanks, noted."))

    result = engine.run_turn(
        {},
        f"what does a card top-up cost? my card is {CARD}",
        bank.understood("top_up_by_card_charge"),
        bank.GRAPH,
        configuration,
        earlier,
    )
    answer = " ".join("".join(reply.chunks) for reply in result.replies)

    (request,) = backend.requests
    assert request.question == (
        "what does a card top-up cost? my card is [card number ending 1111]"
    )
    assert request.recent_turns == (
        ("visitor", "my email is [email]"),
        ("bot", "Thanks, noted."),
    )
    assert "4111" not in repr(request) and "ada@example.com" not in repr(request)
    assert "1.5%" in answer


def test_the_block_card_task_takes_the_last_four_digits_of_a_masked_card_number():
    masked, _ = mask(f"it is {CARD}")
    entities = [entity.as_dict() for entity in extract_entities(masked)]
    chat = cards.Conversation()

    chat.say("I lost my card", cards.understood("lost_or_stolen_card"))
    confirm = chat.say(masked, cards.understood("card_arrival", 0.3, entities, low=True))

    assert masked == "it is [card number ending 1111]"
    assert confirm == "Shall I block the card ending 1111 now? Once blocked it can't be used again."
