"""Answer requests the language-model tests share: a bank's card fee and delivery."""

from chatbot.llm.base import AnswerRequest

FACTS = (
    "Card replacement: fee = £4.99",
    "Card delivery: standard_days = 5",
    "Card delivery: express_days = 2",
    "ATM withdrawals: monthly_free_limit = 1000",
)
TEMPLATE_ANSWER = (
    "A replacement card costs £4.99 and arrives in 5 working days, or 2 with express delivery."
)


def card_request(question: str = "How much is a new card?", **changes) -> AnswerRequest:
    """Return a request about replacing a card, with any field changed."""
    fields = {
        "question": question,
        "template_answer": TEMPLATE_ANSWER,
        "facts": FACTS,
        "sources": ("fee:card_replacement", "process:card_delivery"),
        **changes,
    }
    return AnswerRequest(**fields)
