"""The turn engine: dialogue state, a visitor's message and its understanding in, replies out.

Plain Python: no sockets, no database. The tracker folds the message into the dialogue state,
the policy decides what to say (`chatbot.dialogue`), and the replies are grounded in the knowledge
graph, with the nodes they used as their sources. The bot never stays silent.
"""

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from chatbot import personal_data
from chatbot.dialogue import responses
from chatbot.dialogue.escalation import EscalationRules
from chatbot.dialogue.policy import PolicySettings, decide
from chatbot.dialogue.state import DialogueState, state_diff
from chatbot.dialogue.tracker import track
from chatbot.llm import AnswerOutcome, AnswerRequest, Backend, stream_answer
from knowledge.graph import KnowledgeGraph

GREETING = responses.GREETING
ACKNOWLEDGEMENT = responses.ACKNOWLEDGEMENT
NOT_CAUGHT = responses.NOT_CAUGHT
UNSURE = responses.UNSURE
BUSY = responses.BUSY
UNDERSTOOD = responses.UNDERSTOOD


@dataclass
class Reply:
    """One bot message, produced piece by piece so it can be streamed."""

    chunks: Iterable
    sources: list[dict] = field(default_factory=list)
    # Filled in as a model's answer streams: which backend's text stood, and why it fell back.
    outcome: AnswerOutcome | None = None
    # Buttons the widget shows under the reply: {"label", "text"}; clicking sends the text.
    quick_replies: list[dict] = field(default_factory=list)


@dataclass(frozen=True)
class TurnConfiguration:
    """What decides a turn besides its message and state: the same for the websocket, the
    transcripts, the benchmarks and the editor's "try it" (`chatbot.turn_configuration`)."""

    # When to hand the conversation to a person; None never does.
    rules: EscalationRules | None = None
    # The language model that phrases knowledge answers; None says the grounded text as it is.
    backend: Backend | None = None
    policy: PolicySettings = field(default_factory=PolicySettings)


@dataclass
class TurnResult:
    """What one turn produced: the new state, the replies, what changed and why."""

    state: dict
    replies: list[Reply] = field(default_factory=list)
    # {field: {"before", "after"}} for every field of the state this turn changed.
    diff: dict = field(default_factory=dict)
    # How the policy decided: its path, the intent it served, what it resolved.
    trace: dict = field(default_factory=dict)


def run_turn(
    state: dict,
    text: str,
    understanding: dict | None = None,
    knowledge: KnowledgeGraph | None = None,
    configuration: TurnConfiguration | None = None,
    recent_turns: tuple[tuple[str, str], ...] = (),
) -> TurnResult:
    """Handle one visitor message.

    Args:
        state: the dialogue state after the previous turn ({} for a new conversation).
        text: the visitor's message, trimmed, never empty.
        understanding: the classifier's verdict (status "ok" with intent, confidence,
            is_low_confidence, ranking, entities, and `in_context` when it was read after
            `understanding_context(state)`), or status "timeout" when it did not answer in
            time, "no_model" before any training; None when not asked.
        knowledge: the knowledge graph to answer from; None answers without it.
        configuration: escalation rules, language model and policy settings; None for none.
        recent_turns: the conversation's last messages before this one, as (role, text).

    Returns:
        The new state, the replies in order, the state's diff and the decision's trace.
    """
    configuration = configuration or TurnConfiguration()
    dialogue = DialogueState.from_dict(state)
    before = dialogue.as_dict()
    turn = track(dialogue, text, understanding, knowledge)
    decision = decide(dialogue, turn, knowledge, configuration.rules, configuration.policy)
    after = dialogue.as_dict()
    replies = [
        _reply(planned, text, dialogue, knowledge, configuration.backend, recent_turns)
        for planned in decision.replies
        if planned.text.strip()
    ]
    trace = {
        "decision": decision.kind,
        "intent": decision.intent,
        "reading": turn.reading,
        "act": turn.act,
        "referent": turn.referent["key"] if turn.referent else None,
        "mentioned": turn.mentioned,
        "follow_up": turn.is_follow_up,
        "offered": [option["intent"] for option in dialogue.offered],
        "handoff": decision.handoff,
    }
    return TurnResult(
        after, replies or [Reply(word_chunks(NOT_CAUGHT))], state_diff(before, after), trace
    )


def understanding_context(state: dict) -> str | None:
    """Return the question a new message may follow up, to classify the message after it."""
    if not state.get("active_intent") or state.get("flow"):
        return None
    return state.get("topic_text")


def _reply(planned, text: str, dialogue: DialogueState, knowledge, backend, recent_turns) -> Reply:
    sources = _sources(knowledge, planned.sources)
    if backend is None or backend.name == "template" or not planned.facts:
        return Reply(word_chunks(planned.text), sources, quick_replies=planned.quick_replies)
    # A language model never reads personal data, whatever is stored and whoever called: the
    # visitor's words are masked here again (the editor's "try it" passes them unstored).
    request = AnswerRequest(
        question=personal_data.mask(text)[0],
        template_answer=planned.text,
        facts=tuple(planned.facts),
        sources=tuple(planned.sources),
        recent_turns=tuple((role, personal_data.mask(words)[0]) for role, words in recent_turns),
        summary=conversation_summary(dialogue),
    )
    outcome = AnswerOutcome()
    return Reply(stream_answer(request, backend, outcome), sources, outcome, planned.quick_replies)


def conversation_summary(dialogue: DialogueState, recent: int = 3) -> str:
    """Sum up the topics before the last few, for a language model's prompt."""
    older = [item["intent"] for item in dialogue.topics[:-recent]]
    if not older:
        return ""
    return (
        "Earlier the visitor asked about: "
        + ", ".join(describe_intent(intent) for intent in dict.fromkeys(older))
        + "."
    )


def _sources(knowledge: KnowledgeGraph | None, keys: list[str]) -> list[dict]:
    return [
        {"key": key, "label": knowledge.node(key).label}
        for key in dict.fromkeys(keys)
        if knowledge is not None and key in knowledge
    ]


def describe_intent(name: str) -> str:
    """Return an intent's name as words: `card_arrival` -> `card arrival`."""
    return " ".join(re.findall(r"[A-Za-z0-9]+", name)).lower()


def word_chunks(text: str, words_per_chunk: int = 3) -> list[str]:
    """Return the text a few words at a time, spaces kept, the way a language model streams it."""
    words = re.findall(r"\S+\s*|\s+", text)
    return ["".join(words[i : i + words_per_chunk]) for i in range(0, len(words), words_per_chunk)]
