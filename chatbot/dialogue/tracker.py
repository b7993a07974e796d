"""Track a turn: fold a visitor message and its understanding into the dialogue state.

Plain Python. The tracker records what the visitor said (slots, things in focus, the topic)
and resolves references ("it", "that card", "the second one", "and for Europe?"). It also
chooses how to read the message: alone, or after the question the conversation is about, for a
follow-up that means little alone ("and in France?"). Deciding what to say is the policy's job;
what the decision means for the counters (unclear turns, frustration) is `note_outcome`'s.
"""

from __future__ import annotations

import re
import weakref
from dataclasses import dataclass, field

from chatbot.dialogue import acts
from chatbot.dialogue.state import DialogueState
from knowledge.graph import KnowledgeGraph
from knowledge.names import normalised_name

RECENT_QUESTIONS = 6
SEEN_VALUES = 10
# Rule entity types and the slot each fills.
SLOT_OF_ENTITY = {
    "amount": "amount",
    "date": "date",
    "card_last4": "card",
    "country": "country",
    "currency": "currency",
}
# Graph node types the visitor names that are remembered as slots across turns.
SLOT_OF_NODE_TYPE = {"country": "country", "currency": "currency", "product": "product"}
# The least confidence in a conversational act (a greeting, thanks) for the message to be one.
ACT_BELIEF = 0.5
# Acts that say how a message relates to the conversation rather than what it does.
CONTEXTUAL_ACTS = (acts.FOLLOW_UP, acts.RETURN_TO_TOPIC)
PRONOUN = re.compile(r"\b(it|its|that|this|that one|this one|them|those)\b", re.IGNORECASE)
DEMONSTRATIVE_NOUN = re.compile(r"\b(?:that|this|the same|my)\s+([a-z]+)\b", re.IGNORECASE)
ORDINALS = {"first": 0, "1st": 0, "second": 1, "2nd": 1, "third": 2, "3rd": 2, "last": -1}
ORDINAL = re.compile(
    r"\b(first|1st|second|2nd|third|3rd|last)\b(?:\s+(?:one|option))?", re.IGNORECASE
)
OTHER = re.compile(r"\b(?:the other|another)\s+([a-z]+)\b", re.IGNORECASE)
NEGATIVE_WORDS = re.compile(
    r"\b(useless|ridiculous|terrible|awful|annoy\w*|angry|furious|frustrat\w*|stupid|waste|"
    r"unacceptable|hopeless|not helpful|doesn'?t help|rubbish|pathetic|sick of|fed up|worst)\b",
    re.IGNORECASE,
)


@dataclass
class TrackedTurn:
    """What the tracker found in one message, for the policy to act on."""

    text: str
    intent: str | None = None
    confidence: float = 0.0
    ranking: list[dict] = field(default_factory=list)
    status: str | None = None
    is_confident: bool = False
    # The conversational act the message performs (greet, thank, follow_up...), if any.
    act: str | None = None
    # "in_context" when the message was read after the conversation's question, else "alone".
    reading: str = "alone"
    # Whether the message goes back to something discussed earlier ("back to the card...").
    is_return: bool = False
    # The classifier's belief in each intent and act it ranked, reading the message alone.
    beliefs: dict[str, float] = field(default_factory=dict)
    # Slot values this message gave: name -> (value, text).
    slot_values: dict[str, tuple[object, str]] = field(default_factory=dict)
    # Graph nodes named in the message (unambiguous ones), in reading order.
    mentioned: list[str] = field(default_factory=list)
    spans: list[tuple[int, int]] = field(default_factory=list)
    # The words each mentioned node was named by.
    mention_texts: dict[str, str] = field(default_factory=dict)
    ambiguous: list[dict] = field(default_factory=list)
    # What "it", "that card" or "the other card" pointed at, if anything.
    referent: dict | None = None
    # Whether the reference named its noun ("that card") rather than a bare "it".
    referent_was_named: bool = False
    # The option picked by "the second one", if the bot had offered options.
    picked: dict | None = None
    is_follow_up: bool = False
    is_repeat: bool = False
    other_value: tuple[str, object] | None = None


def track(
    state: DialogueState, text: str, understanding: dict | None, graph: KnowledgeGraph | None
) -> TrackedTurn:
    """Update the state in place for a new visitor message; return what was found in it."""
    state.turn_count += 1
    understanding = understanding or {}
    turn = TrackedTurn(text=text, status=understanding.get("status"))
    if turn.status == "ok":
        _read_intents(state, turn, understanding)
    _read_entities(state, turn, understanding.get("entities") or [], graph)
    _resolve_references(state, turn)
    normalised = " ".join(re.findall(r"[a-z0-9]+", text.lower()))
    turn.is_repeat = len(normalised) > 8 and normalised in state.recent_questions
    state.recent_questions = (state.recent_questions + [normalised])[-RECENT_QUESTIONS:]
    return turn


def _read_intents(state: DialogueState, turn: TrackedTurn, understanding: dict) -> None:
    """Choose the reading to trust, alone or in context, and the act the message performs.

    A follow-up is scored, not spotted by its words: the classifier's belief that the message
    is one ("how long?", "and in France?"), learnt from examples like any intent. A message
    read in context answers the conversation's topic, or one the context and its words point
    to together.
    """
    alone = understanding.get("ranking") or []
    if not alone and understanding.get("intent"):
        alone = [{"intent": understanding["intent"], "confidence": understanding["confidence"]}]
    belief = turn.beliefs = {item["intent"]: item["confidence"] for item in alone}
    top = alone[0]["intent"] if alone else None
    turn.is_return = belief.get(acts.RETURN_TO_TOPIC, 0.0) >= acts.FOLLOW_UP_BELIEF
    if acts.is_act(top) and top not in CONTEXTUAL_ACTS and belief[top] >= ACT_BELIEF:
        turn.act = top
    reading, is_sure = alone, not understanding.get("is_low_confidence", True)
    context = understanding.get("in_context")
    can_follow = state.active_intent and not (turn.act or state.flow or turn.is_return)
    if can_follow and belief.get(acts.FOLLOW_UP, 0.0) >= acts.FOLLOW_UP_BELIEF:
        turn.reading = "in_context"
        turn.is_follow_up = True
        is_sure = True
        if context and (
            not context.get("is_low_confidence", True) or _agree(context["ranking"], alone)
        ):
            # Read after the question it follows, it points somewhere sure ("is there a fee?"
            # after "how do I top up by card?" is the card top-up fee), or where the message
            # alone points too ("And how do I change my PIN?" is a new question after all).
            reading = context["ranking"]
        else:
            # It points nowhere new ("why?"), or it swaps in a thing ("and in Estonia?", which
            # alone would pull the reading to the countries we serve): it carries on with the
            # topic under way, and the policy asks the graph whether the thing leads elsewhere.
            reading = [{"intent": state.active_intent, "confidence": 1.0}]
    elif top == acts.FOLLOW_UP and belief[top] >= ACT_BELIEF:
        turn.act = acts.FOLLOW_UP
    turn.ranking = [item for item in reading if not acts.is_act(item["intent"])]
    if turn.ranking:
        turn.intent, turn.confidence = turn.ranking[0]["intent"], turn.ranking[0]["confidence"]
        # Sure only if the topic itself was the reading's top: belief shared with an act is not.
        turn.is_confident = is_sure and reading[0]["intent"] == turn.intent


def _agree(context_ranking: list[dict], alone: list[dict]) -> bool:
    """Return whether both readings' likeliest topic is the same one."""
    topics = [
        next((item["intent"] for item in ranking if not acts.is_act(item["intent"])), None)
        for ranking in (context_ranking, alone)
    ]
    return topics[0] is not None and topics[0] == topics[1]


def _read_entities(
    state: DialogueState, turn: TrackedTurn, entities: list[dict], graph: KnowledgeGraph | None
) -> None:
    for entity in entities:
        kind, value, text = entity.get("type"), entity.get("value"), entity.get("text", "")
        if entity.get("source") == "graph" or (isinstance(value, dict) and "node" in value):
            _read_linked(state, turn, entity, graph)
            continue
        slot = SLOT_OF_ENTITY.get(kind)
        if slot:
            turn.slot_values[slot] = (value, text)
            _remember_value(state, slot, value)
            if slot == "amount":
                state.set_slot(slot, value, text)
            if slot in ("country", "currency") and graph is not None:
                _focus_coded(state, turn, slot, value, graph)


def _read_linked(state: DialogueState, turn: TrackedTurn, entity: dict, graph) -> None:
    value = entity.get("value") or {}
    if entity.get("type") == "ambiguous":
        turn.ambiguous.append(
            {"text": entity.get("text"), "candidates": value.get("candidates", [])}
        )
        return
    key = value.get("node")
    if graph is None or key not in graph:
        return
    node = graph.node(key)
    # "get a virtual card" names a process, and inside it the product: both are in focus.
    for inner in _named_within(graph, key, entity.get("text", "")):
        state.bring_into_focus(inner.key, inner.label, inner.type)
    turn.mentioned.append(key)
    turn.mention_texts[key] = entity.get("text", "")
    turn.spans.append((entity.get("start", 0), entity.get("end", 0)))
    state.bring_into_focus(key, node.label, node.type)
    slot = SLOT_OF_NODE_TYPE.get(node.type)
    if slot and slot not in turn.slot_values:
        turn.slot_values[slot] = (key, entity.get("text", ""))
        _remember_value(state, slot, key)
        # Kept across turns, with the turn that set it, for the answers that depend on it.
        state.set_slot(slot, key, entity.get("text", ""))


def _named_within(graph: KnowledgeGraph, key: str, text: str) -> list:
    words = normalised_name(text)
    found = []
    for neighbour in graph.neighbours(key, direction="both").items:
        name = normalised_name(neighbour.node.label)
        if neighbour.node.type != "topic" and name and _contains(words, name):
            found.append(neighbour.node)
    return found


def _contains(words: tuple, part: tuple) -> bool:
    return any(
        words[index : index + len(part)] == part for index in range(len(words) - len(part) + 1)
    )


def _focus_coded(state: DialogueState, turn: TrackedTurn, kind: str, code: object, graph) -> None:
    # The rules give an ISO code ("FR", "EUR"); the graph's node carries it as an attribute.
    key = _nodes_by_code(graph).get((kind, str(code).upper()))
    if key is not None and key not in turn.mentioned:
        node = graph.node(key)
        turn.mentioned.append(key)
        turn.mention_texts[key] = turn.slot_values[kind][1]
        state.bring_into_focus(key, node.label, node.type)
        state.set_slot(kind, key, node.label)


_codes: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
# The attribute that holds each coded node type's ISO code.
CODE_ATTRIBUTES = {"country": "iso_code", "currency": "code"}


def _nodes_by_code(graph) -> dict[tuple[str, str], str]:
    """Return the graph's country and currency keys by (type, ISO code), once per graph."""
    graph = getattr(graph, "_graph", graph)  # a benchmark's timing wrapper
    codes = _codes.get(graph)
    if codes is None:
        codes = {}
        for key in graph.graph:
            node = graph.node(key)
            attribute = CODE_ATTRIBUTES.get(node.type)
            if attribute and node.attributes.get(attribute):
                codes.setdefault((node.type, str(node.attributes[attribute]).upper()), key)
        _codes[graph] = codes
    return codes


def _remember_value(state: DialogueState, slot: str, value: object) -> None:
    seen = state.seen_values.setdefault(slot, [])
    if value in seen:
        seen.remove(value)
    seen.append(value)
    del seen[:-SEEN_VALUES]


def _resolve_references(state: DialogueState, turn: TrackedTurn) -> None:
    ordinal = ORDINAL.search(turn.text)
    if ordinal and state.offered:
        index = ORDINALS[ordinal.group(1).lower()]
        if -len(state.offered) <= index < len(state.offered):
            turn.picked = state.offered[index]
    other = OTHER.search(turn.text)
    if other:
        turn.other_value = _the_other(state, other.group(1).lower())
    noun = DEMONSTRATIVE_NOUN.search(turn.text)
    if noun and not ordinal and not _inside_a_mention(turn, noun.start(), noun.end()):
        turn.referent = _latest_focus_named(state, noun.group(1).lower())
        turn.referent_was_named = turn.referent is not None
    # A bare "it" points at the latest thing in focus only when the message leans on what came
    # before: a sure question of its own ("that was quick, how do I change my PIN?") does not.
    leans_on_context = turn.is_follow_up or not turn.is_confident
    if (
        turn.referent is None
        and not turn.mentioned
        and leans_on_context
        and PRONOUN.search(turn.text)
        and state.focus
    ):
        turn.referent = state.focus[0]
    if turn.referent is not None:
        # Talking about it again keeps it at the top of the focus stack.
        state.bring_into_focus(turn.referent["key"], turn.referent["label"], turn.referent["type"])


def _inside_a_mention(turn: TrackedTurn, start: int, end: int) -> bool:
    return any(
        start < mention_end and mention_start < end for mention_start, mention_end in turn.spans
    )


def _latest_focus_named(state: DialogueState, noun: str) -> dict | None:
    """Return the latest thing in focus the noun names, products first ("that card").

    The noun must be a whole word of the thing's name, or its type: "was" names nothing in
    "Cash withdrawal".
    """
    names = {noun, noun[:-1] if noun.endswith("s") else noun}
    named = [
        item
        for item in state.focus
        if names & set(re.findall(r"[a-z]+", item["label"].lower())) or item["type"] in names
    ]
    products = [item for item in named if item["type"] == "product"]
    return (products or named or [None])[0]


def _the_other(state: DialogueState, noun: str) -> tuple[str, object] | None:
    # "the other card": the card value given before the one now in the slot.
    slot = "card" if noun.startswith("card") else noun
    current = state.slot(slot)
    for value in reversed(state.seen_values.get(slot, [])):
        if value != current:
            return slot, value
    return None


def note_outcome(state: DialogueState, turn: TrackedTurn, is_unclear: bool) -> None:
    """Count the turn for escalation: unclear turns in a row, and the frustration estimate.

    A turn is unclear when the bot could not act on it ("not sure", "didn't catch that"); a
    card's last four digits taken by a task is clear, however unsure the classifier was. A
    classifier that timed out leaves the count as it was: the service failed, not the visitor.
    """
    if turn.status in ("unknown_message", "no_model"):
        state.fallback_streak += 1
    elif turn.status == "ok":
        state.fallback_streak = 0
    state.low_confidence_streak = state.low_confidence_streak + 1 if is_unclear else 0
    state.frustration = frustration_after(state, turn)


def frustration_after(state: DialogueState, turn: TrackedTurn) -> float:
    """Return the frustration estimate (0 calm .. 1 furious): recent signals, fading with time."""
    signal = 0.0
    signal += 0.35 * min(len(NEGATIVE_WORDS.findall(turn.text)), 2)
    signal += 0.3 if turn.is_repeat else 0.0
    letters = [character for character in turn.text if character.isalpha()]
    signal += (
        0.2 if len(letters) >= 8 and sum(c.isupper() for c in letters) > 0.7 * len(letters) else 0.0
    )
    signal += 0.15 if "!!" in turn.text or "??" in turn.text else 0.0
    signal += 0.2 if max(state.fallback_streak, state.low_confidence_streak) >= 2 else 0.0
    return round(min(1.0, 0.6 * state.frustration + signal), 3)
