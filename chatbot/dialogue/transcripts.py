"""Conversation tests as data: YAML transcripts of visitor turns and what each bot turn must hold.

Plain Python. A `Player` says each visitor line and reports what the bot did; `play` checks it
against the transcript's expectations. The format is documented in docs/conversations.md.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import yaml

EXPECTATIONS = {
    "intent",
    "decision",
    "slots",
    "facts",
    "contains",
    "not_contains",
    "matches",
    "handoff",
    "referent",
    "flow",
}


@dataclass
class Outcome:
    """What the bot did after one visitor line."""

    texts: list[str]
    sources: list[str]
    state: dict
    trace: dict

    @property
    def text(self) -> str:
        return "\n".join(self.texts)


@dataclass
class TurnCheck:
    visitor: str
    expect: dict


@dataclass
class Transcript:
    name: str
    path: str
    turns: list[TurnCheck]
    description: str = ""


@dataclass
class TurnResult:
    number: int
    visitor: str
    bot: str
    failures: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.failures


@dataclass
class TranscriptResult:
    transcript: Transcript
    turns: list[TurnResult]

    @property
    def passed(self) -> bool:
        return all(turn.passed for turn in self.turns)

    def as_dict(self) -> dict:
        return {
            "name": self.transcript.name,
            "path": self.transcript.path,
            "passed": self.passed,
            "turns": [
                {
                    "turn": t.number,
                    "visitor": t.visitor,
                    "bot": t.bot,
                    "passed": t.passed,
                    "failures": t.failures,
                }
                for t in self.turns
            ],
        }


class TranscriptError(ValueError):
    """A transcript file that does not follow the format."""


Player = Callable[[str], Outcome]


def read_transcripts(path: Path) -> list[Transcript]:
    """Return the transcripts in a YAML file, or in every .yaml file under a folder."""
    files = sorted(path.rglob("*.yaml")) if path.is_dir() else [path]
    if not files:
        raise TranscriptError(f"{path}: no .yaml transcripts found")
    return [read_transcript(file) for file in files]


def read_transcript(file: Path) -> Transcript:
    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise TranscriptError(f"{file}: not valid YAML: {error}") from None
    if not isinstance(data, dict) or not isinstance(data.get("turns"), list) or not data["turns"]:
        raise TranscriptError(f"{file}: expected a mapping with name and a list of turns")
    turns = []
    for index, item in enumerate(data["turns"], start=1):
        if not isinstance(item, dict) or not isinstance(item.get("visitor"), str):
            raise TranscriptError(f"{file}: turn {index} needs a visitor line")
        expect = item.get("bot") or {}
        unknown = set(expect) - EXPECTATIONS if isinstance(expect, dict) else {"(not a mapping)"}
        if unknown:
            raise TranscriptError(f"{file}: turn {index}: unknown expectations {sorted(unknown)}")
        turns.append(TurnCheck(item["visitor"], expect))
    return Transcript(
        str(data.get("name") or file.stem), str(file), turns, str(data.get("description", ""))
    )


def play(transcript: Transcript, player: Player) -> TranscriptResult:
    """Say every visitor line through the player and check each bot turn."""
    results = []
    for number, check in enumerate(transcript.turns, start=1):
        outcome = player(check.visitor)
        results.append(
            TurnResult(number, check.visitor, outcome.text, failures_of(check.expect, outcome))
        )
    return TranscriptResult(transcript, results)


def failures_of(expect: dict, outcome: Outcome) -> list[str]:
    """Return how the bot's turn differs from what the transcript expects."""
    failures = []
    state, trace, text = outcome.state, outcome.trace, outcome.text
    if "intent" in expect and expect["intent"] not in (
        trace.get("intent"),
        state.get("active_intent"),
    ):
        failures.append(
            f"intent: expected {expect['intent']}, "
            f"got {trace.get('intent') or state.get('active_intent')}"
        )
    decisions = _as_list(expect.get("decision"))
    if "decision" in expect and trace.get("decision") not in decisions:
        expected = " or ".join(map(str, decisions))
        failures.append(f"decision: expected {expected}, got {trace.get('decision')}")
    for name, value in (expect.get("slots") or {}).items():
        slot = (state.get("slots") or {}).get(name)
        if not _slot_matches(slot, value):
            failures.append(f"slot {name}: expected {value!r}, got {slot!r}")
    missing = [key for key in _as_list(expect.get("facts")) if key not in outcome.sources]
    if missing:
        failures.append(f"facts: {missing} not among the answer's sources {outcome.sources}")
    for phrase in _as_list(expect.get("contains")):
        if phrase.lower() not in text.lower():
            failures.append(f"contains: {phrase!r} not in {text!r}")
    for phrase in _as_list(expect.get("not_contains")):
        if phrase.lower() in text.lower():
            failures.append(f"not_contains: {phrase!r} in {text!r}")
    if "matches" in expect and not re.search(expect["matches"], text, re.IGNORECASE | re.DOTALL):
        failures.append(f"matches: /{expect['matches']}/ does not match {text!r}")
    if "handoff" in expect and bool(trace.get("handoff")) != bool(expect["handoff"]):
        failures.append(f"handoff: expected {expect['handoff']}, got {bool(trace.get('handoff'))}")
    if "referent" in expect and trace.get("referent") != expect["referent"]:
        failures.append(f"referent: expected {expect['referent']}, got {trace.get('referent')}")
    if "flow" in expect:
        flow = (state.get("flow") or {}).get("name")
        if flow != expect["flow"]:
            failures.append(f"flow: expected {expect['flow']}, got {flow}")
    return failures


def _slot_matches(slot: dict | None, expected: object) -> bool:
    if slot is None:
        return expected is None
    value = slot.get("value")
    candidates = {str(slot.get("text", "")).lower(), str(value).lower()}
    if isinstance(value, dict):
        candidates |= {str(item).lower() for item in value.values()}
    return str(expected).lower() in candidates


def _as_list(value: object) -> list:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]
