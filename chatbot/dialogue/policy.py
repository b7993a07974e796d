"""The policy: given the tracked turn and the state, decide what the bot says and does.

Plain Python. In order: a task (flow) in progress keeps the floor, but a side question is answered
and the task resumes; a choice the bot offered is taken; close intents are clarified; a
confident intent starts its flow or is answered from the knowledge graph; a follow-up ("and for
France?") stays on the topic; what is not understood gets a fallback, never silence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from chatbot.dialogue import responses as say
from chatbot.dialogue.flows import Flow, flow_starting_on, flows
from chatbot.dialogue.responses import PlannedReply, fact_sentences, render, topic_label
from chatbot.dialogue.state import DialogueState
from chatbot.dialogue.tracker import TrackedTurn
from handoff.triggers import EscalationRules, escalation_reason
from knowledge.answers import answer_for_intent
from knowledge.graph import KnowledgeGraph

# Two intents closer than this, both at least CLARIFY_FLOOR, are asked about rather than guessed.
CLARIFY_MARGIN = 0.15
CLARIFY_FLOOR = 0.25
CLARIFY_MASS = 0.65
# The least belief in an earlier topic for "going back to ..." to pick it over the previous one.
RESUME_FLOOR = 0.05
YES = re.compile(
    r"^\s*(yes|yeah|yep|yup|sure|ok|okay|please do|do it|go ahead|correct|confirm\w*|right)\b", re.I
)
NO = re.compile(r"^\s*(no|nope|nah|not that|wrong|wait)\b", re.I)
CANCEL = re.compile(r"\b(cancel|stop|never ?mind|forget it|don'?t bother|abort)\b", re.I)
GREETINGS = re.compile(r"^\s*(hi|hello|hey|good (morning|afternoon|evening)|hiya)\b[\s!.,]*$", re.I)
THANKS = re.compile(r"^\s*(thanks|thank you|thx|cheers|great,? thanks)\b[\w\s!.,]*$", re.I)
GOODBYE = re.compile(r"^\s*(bye|goodbye|see you|that'?s all)\b[\w\s!.,]*$", re.I)
BACK_TO = re.compile(
    r"\b(back to|going back|earlier question|as i asked before|my previous question)\b", re.I
)
BARE_CARD_ENDING = re.compile(r"^\D*(\d{4})\D*$")
# How a relation reads in a sentence; others read as their type's words.
RELATION_VERBS = {
    "available_in": "is available in",
    "supports_currency": "supports",
    "uses_currency": "uses",
    "has_fee": "has a fee:",
    "has_limit": "has a limit:",
    "requires": "requires",
    "part_of": "is part of",
    "does_not_support": "does not support",
}


@dataclass
class Decision:
    """What the bot does this turn: its replies, and the name of the path that chose them."""

    kind: str
    replies: list[PlannedReply] = field(default_factory=list)
    intent: str | None = None
    # Why the conversation goes to a person this turn, if it does.
    handoff: str | None = None


# Escalations where the bot's own answer is still worth saying before a person takes over.
ANSWER_BEFORE_HANDOFF = ("sensitive_intent",)


def decide(
    state: DialogueState,
    turn: TrackedTurn,
    graph: KnowledgeGraph | None,
    rules: EscalationRules | None = None,
) -> Decision:
    """Choose the replies for a tracked turn, and whether a person should take over."""
    decision = _decide(state, turn, graph)
    if rules is None:
        return decision
    reason = escalation_reason(
        rules,
        text=turn.text,
        decision=decision.kind,
        intent=turn.intent,
        is_confident=turn.is_confident,
        unclear_streak=max(state.low_confidence_streak, state.fallback_streak),
        frustration=state.frustration,
        flow_retries=(state.flow or {}).get("retries", 0),
        is_repeat=turn.is_repeat,
    )
    if reason:
        connecting = PlannedReply("handoff", say.CONNECTING)
        kept = decision.replies if reason in ANSWER_BEFORE_HANDOFF else []
        decision = Decision("handoff", [*kept, connecting], decision.intent or turn.intent, reason)
        if state.flow:
            state.paused_flows.append(state.flow)
            state.flow = None
        # The escalation answers what these counted; if nobody can take over, counting starts again.
        state.low_confidence_streak = state.fallback_streak = 0
    return decision


def _decide(state: DialogueState, turn: TrackedTurn, graph: KnowledgeGraph | None) -> Decision:
    offered, state.offered = state.offered, []
    if state.flow:
        return continue_flow(state, turn, graph)
    if smalltalk := _smalltalk(turn):
        return smalltalk
    picked = _picked_option(turn, offered)
    if picked:
        return answer_intent(state, turn, graph, picked, kind="clarified")
    if turn.is_follow_up and state.active_intent and not _is_new_confident_intent(state, turn):
        return answer_follow_up(state, turn, graph)
    if BACK_TO.search(turn.text) and not turn.is_confident and len(state.topics) >= 2:
        return return_to_topic(state, turn, graph)
    if turn.status == "ok" and _is_close_call(turn) and _is_about_banking(turn):
        return clarify(state, turn, graph)
    if turn.is_confident:
        flow = flow_starting_on(turn.intent)
        if flow:
            return start_flow(state, turn, graph, flow)
        return answer_intent(state, turn, graph, turn.intent)
    return fallback(state, turn)


def answer_intent(
    state: DialogueState,
    turn: TrackedTurn,
    graph: KnowledgeGraph | None,
    intent: str,
    kind: str = "answer",
) -> Decision:
    """Answer an intent from its topic, about the thing referred to if there is one."""
    state.enter_topic(intent, graph.topic_for_intent(intent) if graph else None)
    grounded = answer_for_intent(graph, intent) if graph else None
    if grounded is None:
        return Decision(
            kind="understood",
            intent=intent,
            replies=[
                PlannedReply("understood", say.UNDERSTOOD.format(topic=topic_label(graph, intent)))
            ],
        )
    sources = list(grounded.provenance.nodes)
    text = grounded.text
    # Only what the visitor pointed back at ("that card") is named; things the question names
    # are what the topic's answer is about already.
    about = None if kind == "follow_up" else turn.referent
    if about and about["key"] not in sources and about["type"] != "topic":
        text = f"About the {about['label']}: {text}"
        sources.append(about["key"])
    facts = [line for key in sources for line in fact_sentences(graph, key)]
    return Decision(kind=kind, intent=intent, replies=[PlannedReply(kind, text, sources, facts)])


def answer_follow_up(
    state: DialogueState, turn: TrackedTurn, graph: KnowledgeGraph | None
) -> Decision:
    """Answer "and for France?": the current topic, with what the graph says about the new thing."""
    intent = state.active_intent
    decision = answer_intent(state, turn, graph, intent, kind="follow_up")
    if graph is None or not turn.mentioned:
        return decision
    reply = decision.replies[0]
    details = [_relation_sentence(graph, state.active_topic, key) for key in turn.mentioned]
    details = [detail for detail in details if detail]
    if details:
        reply.text = " ".join(text for text, _ in details) + " " + reply.text
        reply.sources = list(
            dict.fromkeys([*reply.sources, *(key for _, keys in details for key in keys)])
        )
    return decision


def return_to_topic(
    state: DialogueState, turn: TrackedTurn, graph: KnowledgeGraph | None
) -> Decision:
    """Go back to an earlier topic: the one the classifier believes in most, else the one before."""
    belief = {item["intent"]: item["confidence"] for item in turn.ranking}
    earlier_topics = state.topics[:-1]
    candidates = [item for item in earlier_topics if belief.get(item["intent"], 0) >= RESUME_FLOOR]
    earlier = (
        max(candidates, key=lambda item: belief[item["intent"]])
        if candidates
        else earlier_topics[-1]
    )
    decision = answer_intent(state, turn, graph, earlier["intent"], kind="resumed_topic")
    reply = decision.replies[0]
    reply.text = say.BACK_TO_TOPIC.format(label=topic_label(graph, earlier["intent"])) + reply.text
    return decision


def clarify(state: DialogueState, turn: TrackedTurn, graph: KnowledgeGraph | None) -> Decision:
    """Ask which of the two closest intents the visitor means."""
    first, second = turn.ranking[0]["intent"], turn.ranking[1]["intent"]
    state.offered = [
        {"intent": intent, "label": topic_label(graph, intent)} for intent in (first, second)
    ]
    text = say.CLARIFY.format(first=state.offered[0]["label"], second=state.offered[1]["label"])
    return Decision(kind="clarify", intent=first, replies=[PlannedReply("clarify", text)])


def fallback(state: DialogueState, turn: TrackedTurn) -> Decision:
    """Answer what was not understood: never silence."""
    if turn.status == "ok":
        text = say.OUT_OF_SCOPE if state.low_confidence_streak >= 2 else say.UNSURE
        return Decision(
            kind="out_of_scope" if state.low_confidence_streak >= 2 else "unsure",
            replies=[PlannedReply("unsure", text)],
        )
    if turn.status in ("timeout", "unknown_message"):
        return Decision(kind="not_caught", replies=[PlannedReply("not_caught", say.NOT_CAUGHT)])
    text = say.GREETING if state.turn_count == 1 else say.ACKNOWLEDGEMENT
    return Decision(kind="acknowledged", replies=[PlannedReply("acknowledged", text)])


# Flows ---------------------------------------------------------------------------------------


def start_flow(state: DialogueState, turn: TrackedTurn, graph, flow: Flow) -> Decision:
    """Begin a task, taking any slot values the opening message already gave."""
    if state.flow:
        state.paused_flows.append(state.flow)
    state.enter_topic(turn.intent, graph.topic_for_intent(turn.intent) if graph else None)
    state.flow = {"name": flow.name, "step": 0, "slots": {}, "started_turn": state.turn_count}
    _fill(state, flow, _values_for(flow, turn, state))
    return _ask_current_step(state, flow, graph, kind="flow_started", intent=turn.intent)


def continue_flow(state: DialogueState, turn: TrackedTurn, graph) -> Decision:
    """Carry a task on: fill, correct, confirm or cancel; answer a side question and come back."""
    flow = flows()[state.flow["name"]]
    step = flow.steps[state.flow["step"]]
    if CANCEL.search(turn.text) and not _is_new_flow(turn, flow):
        return _finish(state, flow, graph, "cancelled")
    values = _values_for(flow, turn, state)
    if values:
        is_correction = any(name in state.flow["slots"] for name in values)
        _fill(state, flow, values)
        decision = _ask_current_step(
            state, flow, graph, kind="flow_corrected" if is_correction else "flow_slot"
        )
        if is_correction:
            name, slot = next(iter(values.items()))
            prefix = say.CORRECTED.format(value=render("{" + name + "}", {name: slot}, graph)[0])
            decision.replies[0].text = f"{prefix} {decision.replies[0].text}"
        return decision
    if step.is_confirmation and YES.search(turn.text):
        return _finish(state, flow, graph, "done")
    if step.is_confirmation and NO.search(turn.text):
        return Decision(kind="flow_unconfirmed", replies=[PlannedReply("flow", say.CONFIRM_AGAIN)])
    if _is_new_flow(turn, flow):
        return start_flow(state, turn, graph, flow_starting_on(turn.intent))
    if turn.is_confident and turn.intent not in flow.starts_on:
        return _digress(state, turn, graph, flow)
    ask = step.retry or step.ask
    text, sources = render(ask, state.flow["slots"], graph)
    state.flow["retries"] = state.flow.get("retries", 0) + 1
    return Decision(kind="flow_retry", replies=[PlannedReply("flow", text, sources)])


def _digress(state: DialogueState, turn: TrackedTurn, graph, flow: Flow) -> Decision:
    flow_state = state.flow
    state.flow = None
    decision = answer_intent(state, turn, graph, turn.intent, kind="digression")
    state.flow = flow_state
    step = flow.steps[flow_state["step"]]
    ask, sources = render(step.ask, flow_state["slots"], graph)
    decision.replies.append(
        PlannedReply("flow", say.BACK_TO_FLOW.format(title=flow.title, ask=ask), sources)
    )
    return decision


def _finish(state: DialogueState, flow: Flow, graph, outcome: str) -> Decision:
    slots = state.flow["slots"]
    text, sources = render(flow.done if outcome == "done" else flow.cancelled, slots, graph)
    state.finished_flows.append(
        {"name": flow.name, "outcome": outcome, "slots": slots, "turn": state.turn_count}
    )
    state.flow = state.paused_flows.pop() if state.paused_flows else None
    replies = [PlannedReply(f"flow_{outcome}", text, sources)]
    if state.flow:
        resumed = flows()[state.flow["name"]]
        ask, _ = render(resumed.steps[state.flow["step"]].ask, state.flow["slots"], graph)
        replies.append(PlannedReply("flow", say.RESUMING.format(title=resumed.title, ask=ask)))
    return Decision(kind=f"flow_{outcome}", replies=replies)


def _ask_current_step(
    state: DialogueState, flow: Flow, graph, kind: str, intent: str | None = None
) -> Decision:
    filled = state.flow["slots"]
    state.flow["step"] = next(
        (index for index, step in enumerate(flow.steps) if step.slot and step.slot not in filled),
        len(flow.steps) - 1,
    )
    text, sources = render(flow.steps[state.flow["step"]].ask, filled, graph)
    return Decision(kind=kind, intent=intent, replies=[PlannedReply("flow", text, sources)])


def _values_for(flow: Flow, turn: TrackedTurn, state: DialogueState) -> dict:
    """Return the flow's slot values this message gives, "the other card" included."""
    values = {
        name: {"value": value, "text": text, "turn": state.turn_count}
        for name, (value, text) in turn.slot_values.items()
        if name in flow.slot_names
    }
    if turn.other_value and turn.other_value[0] in flow.slot_names:
        name, value = turn.other_value
        values[name] = {"value": value, "text": str(value), "turn": state.turn_count}
    # A bare "1234" (or "actually it's 3333") while blocking a card is the card's ending.
    if (
        "card" in flow.slot_names
        and "card" not in values
        and (bare := BARE_CARD_ENDING.match(turn.text))
    ):
        values["card"] = {"value": bare.group(1), "text": bare.group(1), "turn": state.turn_count}
    return values


def _fill(state: DialogueState, flow: Flow, values: dict) -> None:
    for name, slot in values.items():
        state.flow["slots"][name] = slot
        state.set_slot(name, slot["value"], slot["text"])


def _is_new_flow(turn: TrackedTurn, flow: Flow) -> bool:
    other = flow_starting_on(turn.intent) if turn.is_confident and turn.intent else None
    return other is not None and other.name != flow.name


# Helpers -------------------------------------------------------------------------------------


def _smalltalk(turn: TrackedTurn) -> Decision | None:
    for pattern, text, kind in (
        (GREETINGS, say.GREETING, "greeting"),
        (THANKS, say.THANKS, "thanks"),
        (GOODBYE, say.GOODBYE, "goodbye"),
    ):
        if pattern.match(turn.text):
            return Decision(kind=kind, replies=[PlannedReply(kind, text)])
    return None


def _picked_option(turn: TrackedTurn, offered: list[dict]) -> str | None:
    if not offered:
        return None
    if turn.picked:
        return turn.picked["intent"]
    if turn.is_confident and turn.intent in {option["intent"] for option in offered}:
        return turn.intent
    lowered = turn.text.lower()
    named = [option["intent"] for option in offered if option["label"].lower() in lowered]
    return named[0] if len(named) == 1 else None


def _is_close_call(turn: TrackedTurn) -> bool:
    if len(turn.ranking) < 2:
        return False
    first, second = turn.ranking[0]["confidence"], turn.ranking[1]["confidence"]
    return second >= CLARIFY_FLOOR and first - second < CLARIFY_MARGIN


def _is_about_banking(turn: TrackedTurn) -> bool:
    # A close call is worth asking about when the message names something the bank knows, or
    # the classifier puts most of its belief on the two options; "what's the weather like"
    # spreads it thin and is out of scope, not a choice between two banking topics.
    top_two = sum(item["confidence"] for item in turn.ranking[:2])
    return bool(turn.mentioned or turn.ambiguous) or top_two >= CLARIFY_MASS


def _is_new_confident_intent(state: DialogueState, turn: TrackedTurn) -> bool:
    return turn.is_confident and turn.intent != state.active_intent and turn.confidence >= 0.8


def _relation_sentence(
    graph: KnowledgeGraph, topic: str | None, key: str
) -> tuple[str, list[str]] | None:
    """Say how a newly named thing relates to the topic's subjects, from the graph's relations."""
    if topic is None or topic not in graph:
        return None
    paths = graph.paths(topic, key, max_hops=2, limit=1)
    if paths and len(paths[0].relations) == 2:
        relation = paths[0].relations[1]
        source, target = graph.node(relation.source).label, graph.node(relation.target).label
        verb = RELATION_VERBS.get(relation.type, relation.type.replace("_", " "))
        return f"The {source} {verb} {target}.", list(paths[0].nodes)
    node = graph.node(key)
    if node.attributes.get("kestrel_available") is False:
        return f"We don't currently offer our services in {node.label}.", [key]
    return None
