"""The bot's words: fixed texts, slot values as they read, and texts filled with graph facts."""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass, field

from knowledge.answers import UnresolvedPlaceholder, render_answer, spoken
from knowledge.graph import KnowledgeGraph

GREETING = "Hello! I'm the virtual assistant. How can I help you today?"
ACKNOWLEDGEMENT = "Thanks, I have your message. How else can I help?"
NOT_CAUGHT = "Sorry, I didn't catch that. Could you say it again?"
UNSURE = "I'm not sure I understood. Could you put it another way?"
# The classifier did not answer in time even after retries: the service, not the visitor, failed.
BUSY = (
    "Sorry, I'm very busy right now and could not read your message in time. "
    "Please send it again in a minute."
)
UNDERSTOOD = "I understand you're asking about {topic}."
OUT_OF_SCOPE = (
    "I can help with cards, payments, transfers, top-ups, exchange and your account, but I'm not "
    "sure what you need. Could you put it another way, or shall I connect you to a person?"
)
CLARIFY = "Do you mean {options}?"
ALTERNATIVES = "Or did you mean {options}?"
BOT_CHALLENGE = (
    "I'm the bank's virtual assistant, a computer program. I can answer most questions here, "
    "and I can bring in a person from our team whenever you like."
)
CHITCHAT = "I'm here and happy to help with your banking. What would you like to know?"
AFFIRMED = "Good. Is there anything else I can help with?"
DENIED = "Sorry about that. Could you tell me a little more about what you need?"
NO_PERSON = (
    "I can't bring in a person from here right now, but I'll do my best to help. What do you need?"
)
AS_I_SAID = "As I said, {sentence}"
TALK_TO_A_PERSON = "Talk to a person"
THANKS = "You're welcome! Is there anything else I can help with?"
GOODBYE = "Goodbye, and thanks for chatting with us."
BACK_TO_FLOW = "Now, back to {title}: {ask}"
RESUMING = "Let's get back to {title}: {ask}"
CORRECTED = "OK, {value} then."
CONFIRM_AGAIN = "Tell me what to change, or say cancel to stop."
BACK_TO_TOPIC = "Back to {label}: "
CONNECTING = "Let me bring in a member of our team; they'll see everything we've discussed."

SLOT = re.compile(r"\{([a-z_]+)\}")
CURRENCY_SIGNS = {"GBP": "£", "EUR": "€", "USD": "$"}


@dataclass
class PlannedReply:
    """A reply the policy chose: its text, the graph nodes it rests on, and the facts behind it."""

    kind: str
    text: str
    sources: list[str] = field(default_factory=list)
    facts: list[str] = field(default_factory=list)
    # Buttons under the reply: {"label": what the button says, "text": what clicking sends}.
    quick_replies: list[dict] = field(default_factory=list)


def render(text: str, slots: dict, graph: KnowledgeGraph | None) -> tuple[str, list[str]]:
    """Fill slot placeholders ({card}) and graph facts ({node.attribute}); return text and sources.

    A fact the graph lacks is never made up: the sentence quoting it is dropped.
    """
    text = SLOT.sub(lambda match: slot_text(match.group(1), slots.get(match.group(1)), graph), text)
    if graph is None or "{" not in text:
        return text, []
    kept, sources = [], []
    for sentence in re.split(r"(?<=[.!?])\s+", text):
        try:
            rendered = render_answer(graph, "", sentence)
        except UnresolvedPlaceholder:
            continue
        kept.append(rendered.text)
        sources += [key for key in rendered.provenance.nodes if key]
    return " ".join(kept), list(dict.fromkeys(sources))


def slot_text(name: str, slot: dict | None, graph: KnowledgeGraph | None) -> str:
    """Return a slot's value as it reads in a sentence."""
    if not slot:
        return "?"
    value = slot.get("value")
    if isinstance(value, dict) and "amount" in value:
        sign = CURRENCY_SIGNS.get(value.get("currency", ""))
        return (
            f"{sign}{value['amount']}"
            if sign
            else f"{value['amount']} {value.get('currency', '')}".strip()
        )
    if isinstance(value, dict) and "date" in value:
        try:
            day = datetime.date.fromisoformat(value["date"])
        except ValueError:
            return str(value["date"])
        return f"{day.day} {day:%B %Y}"
    if isinstance(value, str) and graph is not None and value in graph:
        return graph.node(value).label
    return slot.get("text") or spoken(value)


def spoken_list(items: list[str]) -> str:
    """Return "a", "a or b", "a, b or c"."""
    return ", ".join(items[:-1]) + " or " + items[-1] if len(items) > 1 else "".join(items)


def topic_label(graph: KnowledgeGraph | None, intent: str) -> str:
    """Return how the bot names an intent to the visitor: its topic's label, or its words."""
    topic = graph.topic_for_intent(intent) if graph else None
    if topic:
        label = graph.node(topic).label
        # Mid-sentence, "Card arrival" reads "card arrival"; "ATM support" keeps its capitals.
        return label[0].lower() + label[1:] if label[1:2].islower() else label
    return " ".join(re.findall(r"[A-Za-z0-9]+", intent)).lower()


def fact_sentences(graph: KnowledgeGraph, key: str, limit: int = 12) -> list[str]:
    """Return a node's facts as short plain statements (for a language model's prompt)."""
    facts = graph.facts(key)
    node = facts.node
    lines = [
        f"{node.label}: {name.replace('_', ' ')} = {spoken(value)}"
        for name, value in node.attributes.items()
    ]
    for fact in facts.statements:
        if fact.relation_id is not None:
            subject = graph.node(fact.subject).label
            target = graph.node(fact.value).label if fact.value in graph else fact.value
            lines.append(f"{subject} {fact.predicate.replace('_', ' ')} {target}")
    return lines[:limit]
