"""The dialogue state: everything the bot remembers of a conversation, as plain JSON-able data.

It is rebuilt by replaying the conversation's turns (`chatbot.dialogue.tracker`), stored with each
turn, and compared turn to turn (`state_diff`) so anyone can see why a slot changed.
"""

from __future__ import annotations

import copy
from dataclasses import asdict, dataclass, field, fields

FOCUS_DEPTH = 30
TOPIC_DEPTH = 40


@dataclass
class DialogueState:
    """What the bot knows of one conversation after a turn."""

    turn_count: int = 0
    # The intent being served and the topic node that answers it.
    active_intent: str | None = None
    active_topic: str | None = None
    # A multi-step task in progress: {"name", "step", "slots", "started_turn"}.
    flow: dict | None = None
    # Flows put aside for a side question or another task, the most recent last.
    paused_flows: list[dict] = field(default_factory=list)
    # Values the visitor gave: name -> {"value", "text", "turn"}.
    slots: dict[str, dict] = field(default_factory=dict)
    # Every value given per slot, the most recent last, so "the other card" resolves.
    seen_values: dict[str, list] = field(default_factory=dict)
    # Things under discussion, most recent first: {"key", "label", "type", "turn"}.
    focus: list[dict] = field(default_factory=list)
    # Topics discussed, oldest first: {"intent", "topic", "turn", "text": the question asked}.
    topics: list[dict] = field(default_factory=list)
    # Tasks finished or cancelled: {"name", "outcome", "slots", "turn"}.
    finished_flows: list[dict] = field(default_factory=list)
    # Choices the bot last offered ("Do you mean X or Y?"), so "the second one" resolves.
    offered: list[dict] = field(default_factory=list)
    # Related topics the bot last suggested as buttons; clicking one asks about it.
    suggested: list[dict] = field(default_factory=list)
    # The visitor's question the current topic came from: a follow-up is read after it.
    topic_text: str | None = None
    # The bot's last answers, normalised, so it never says the same answer twice in a row.
    recent_answers: list[str] = field(default_factory=list)
    low_confidence_streak: int = 0
    fallback_streak: int = 0
    frustration: float = 0.0
    # Stretches of the conversation a human agent handled.
    human_stretches: int = 0
    # The visitor's last messages, normalised, to notice a question asked again.
    recent_questions: list[str] = field(default_factory=list)

    @classmethod
    def from_dict(cls, data: dict | None) -> DialogueState:
        """Return the state stored as a dict; unknown keys (older versions) are ignored."""
        names = {item.name for item in fields(cls)}
        return cls(
            **{name: copy.deepcopy(value) for name, value in (data or {}).items() if name in names}
        )

    def as_dict(self) -> dict:
        return asdict(self)

    def copy(self) -> DialogueState:
        return DialogueState.from_dict(self.as_dict())

    def set_slot(self, name: str, value: object, text: str) -> None:
        """Remember a value the visitor gave, with the turn that gave it."""
        self.slots[name] = {"value": value, "text": text, "turn": self.turn_count}

    def slot(self, name: str) -> object | None:
        return self.slots.get(name, {}).get("value")

    def bring_into_focus(self, key: str, label: str, type_: str) -> None:
        """Put a node at the top of the focus stack (moving it up if it was already there)."""
        self.focus = [item for item in self.focus if item["key"] != key]
        self.focus.insert(0, {"key": key, "label": label, "type": type_, "turn": self.turn_count})
        del self.focus[FOCUS_DEPTH:]

    def enter_topic(self, intent: str, topic: str | None, question: str | None = None) -> None:
        """Record that the conversation is now about this intent, asked by this question (the
        one a follow-up is read after; an earlier topic returned to brings its own back)."""
        self.active_intent, self.active_topic = intent, topic
        earlier = next((item for item in reversed(self.topics) if item["intent"] == intent), None)
        self.topic_text = question or (earlier or {}).get("text") or self.topic_text
        if not self.topics or self.topics[-1]["intent"] != intent:
            self.topics.append(
                {"intent": intent, "topic": topic, "turn": self.turn_count, "text": self.topic_text}
            )
            del self.topics[:-TOPIC_DEPTH]


def state_diff(before: dict, after: dict) -> dict:
    """Return what changed between two states: {field: {"before": ..., "after": ...}}.

    Slots are compared one by one, so the diff names the slot that changed and the turn that set it.
    """
    diff = {}
    for name in before.keys() | after.keys():
        old, new = before.get(name), after.get(name)
        if old == new:
            continue
        if name == "slots":
            for slot in (old or {}).keys() | (new or {}).keys():
                if (old or {}).get(slot) != (new or {}).get(slot):
                    diff[f"slots.{slot}"] = {
                        "before": (old or {}).get(slot),
                        "after": (new or {}).get(slot),
                    }
        else:
            diff[name] = {"before": old, "after": new}
    return dict(sorted(diff.items()))
