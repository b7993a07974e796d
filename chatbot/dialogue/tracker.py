"""Track a turn: fold a visitor message and its understanding into the dialogue state.

Plain Python. The tracker records what the visitor said (slots, things in focus, the topic,
counters, frustration) and resolves references ("it", "that card", "the second one", "and for
Europe?"); deciding what to say is the policy's job.
"""

from __future__ import annotations

import re
import weakref
from dataclasses import dataclass, field

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
PRONOUN = re.compile(r"\b(it|its|that|this|that one|this one|them|those)\b", re.IGNORECASE)
DEMONSTRATIVE_NOUN = re.compile(r"\b(?:that|this|the same|my)\s+([a-z]+)\b", re.IGNORECASE)
ORDINALS = {"first": 0, "1st": 0, "second": 1, "2nd": 1, "third": 2, "3rd": 2, "last": -1}
ORDINAL = re.compile(
    r"\b(first|1st|second|2nd|third|3rd|last)\b(?:\s+(?:one|option))?", re.IGNORECASE
)
FOLLOW_UP = re.compile(
    r"^\s*(?:and|what about|how about|and what about|same for|and for|and in)\b", re.IGNORECASE
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
    # Slot values this message gave: name -> (value, text).
    slot_values: dict[str, tuple[object, str]] = field(default_factory=dict)
    # Graph nodes named in the message (unambiguous ones), in reading order.
    mentioned: list[str] = field(default_factory=list)
    spans: list[tuple[int, int]] = field(default_factory=list)
    ambiguous: list[dict] = field(default_factory=list)
    # What "it", "that card" or "the other card" pointed at, if anything.
    referent: dict | None = None
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
    turn = TrackedTurn(
        text=text,
        status=understanding.get("status"),
        intent=understanding.get("intent"),
        confidence=float(understanding.get("confidence") or 0.0),
        ranking=list(understanding.get("ranking") or []),
    )
    turn.is_confident = turn.status == "ok" and not understanding.get("is_low_confidence", True)
    _read_entities(state, turn, understanding.get("entities") or [], graph)
    _resolve_references(state, turn)
    turn.is_follow_up = bool(FOLLOW_UP.match(text)) and bool(turn.slot_values or turn.mentioned)
    _count(state, turn)
    return turn


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
            if slot == "country" and graph is not None:
                _focus_country(state, turn, value, graph)


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
    turn.spans.append((entity.get("start", 0), entity.get("end", 0)))
    state.bring_into_focus(key, node.label, node.type)
    if node.type in ("country", "currency") and node.type not in turn.slot_values:
        turn.slot_values[node.type] = (key, entity.get("text", ""))
        _remember_value(state, node.type, key)


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


def _focus_country(state: DialogueState, turn: TrackedTurn, code: object, graph) -> None:
    # The rules give an ISO code; the graph's country node carries it as an attribute.
    key = _countries_by_code(graph).get(str(code).upper())
    if key is not None:
        node = graph.node(key)
        turn.mentioned.append(key)
        state.bring_into_focus(key, node.label, node.type)


_country_codes: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _countries_by_code(graph) -> dict[str, str]:
    """Return the graph's country keys by ISO code, indexed once per graph version."""
    graph = getattr(graph, "_graph", graph)  # a benchmark's timing wrapper
    codes = _country_codes.get(graph)
    if codes is None:
        codes = {}
        for key in graph.graph:
            node = graph.node(key)
            if node.type == "country" and node.attributes.get("iso_code"):
                codes.setdefault(str(node.attributes["iso_code"]).upper(), key)
        _country_codes[graph] = codes
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
    if turn.referent is None and not turn.mentioned and PRONOUN.search(turn.text) and state.focus:
        turn.referent = state.focus[0]
    if turn.referent is not None:
        # Talking about it again keeps it at the top of the focus stack.
        state.bring_into_focus(turn.referent["key"], turn.referent["label"], turn.referent["type"])


def _inside_a_mention(turn: TrackedTurn, start: int, end: int) -> bool:
    return any(
        start < mention_end and mention_start < end for mention_start, mention_end in turn.spans
    )


def _latest_focus_named(state: DialogueState, noun: str) -> dict | None:
    """Return the latest thing in focus the noun names, products first ("that card")."""
    stem = noun.rstrip("s")
    named = [
        item
        for item in state.focus
        if stem and (stem in item["label"].lower() or stem == item["type"])
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


def _count(state: DialogueState, turn: TrackedTurn) -> None:
    if turn.status in ("timeout", "unknown_message", "no_model"):
        state.fallback_streak += 1
    elif turn.status == "ok":
        state.fallback_streak = 0
    if turn.status == "ok" and not turn.is_confident:
        state.low_confidence_streak += 1
    elif turn.is_confident:
        state.low_confidence_streak = 0
    normalised = " ".join(re.findall(r"[a-z0-9]+", turn.text.lower()))
    turn.is_repeat = len(normalised) > 8 and normalised in state.recent_questions
    state.recent_questions = (state.recent_questions + [normalised])[-RECENT_QUESTIONS:]
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
    signal += 0.2 if state.fallback_streak + state.low_confidence_streak >= 2 else 0.0
    return round(min(1.0, 0.6 * state.frustration + signal), 3)
