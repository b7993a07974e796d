"""The policy: given the tracked turn and the state, decide what the bot says and does.

Plain Python. In order: a task (flow) in progress keeps the floor, but a side question is answered
and the task resumes; a choice the bot offered is taken; a conversational act (hello, thanks,
"are you a bot?") is answered; a return to an earlier topic is followed; a sure intent starts its
flow or is answered from the knowledge graph, a follow-up ("and for France?", "how long?") on
the topic it follows; an unsure one is answered with the runner-ups offered, or clarified
between the top few; what is not understood at all gets a fallback, never silence. Escalation
rules then say whether a person should take over.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from chatbot.dialogue import acts
from chatbot.dialogue import responses as say
from chatbot.dialogue.aspects import asked_aspect, first_sentence, sentences_saying
from chatbot.dialogue.escalation import EscalationRules, escalation_reason, is_explicit_request
from chatbot.dialogue.flows import Flow, flow_starting_on, flows
from chatbot.dialogue.responses import (
    PlannedReply,
    fact_sentences,
    render,
    spoken_list,
    topic_label,
)
from chatbot.dialogue.state import DialogueState
from chatbot.dialogue.tracker import TrackedTurn, note_outcome
from knowledge.answers import GroundedAnswer, answers_of_node
from knowledge.graph import KnowledgeGraph
from knowledge.things import about_thing, bears_on_place_and_money, fee_sentence, the_topics_own

# The least belief in an earlier topic for "going back to ..." to pick it over the previous one.
RESUME_FLOOR = 0.05
# The share of belief on the top three topics above which an unsure message is about banking.
CLARIFY_MASS = 0.3
RECENT_ANSWERS = 4
YES = re.compile(
    r"^\s*(yes|yeah|yep|yup|sure|ok|okay|please do|do it|go ahead|correct|confirm\w*|right)\b", re.I
)
NO = re.compile(r"^\s*(no|nope|nah|not that|wrong|wait)\b", re.I)
CANCEL = re.compile(r"\b(cancel|stop|never ?mind|forget it|don'?t bother|abort)\b", re.I)
BACK_TO = re.compile(
    r"\b(back to|going back|earlier question|as i asked before|my previous question)\b", re.I
)
BARE_CARD_ENDING = re.compile(r"^\D*(\d{4})\D*$")
# Without a sure verdict of the model (none trained yet, it did not answer in time, or it knows
# no conversational acts), a message that is only a greeting, a thank-you or a goodbye is still
# known by its words.
ACTS_BY_WORDS = (
    (
        re.compile(r"^\s*(hi|hello|hey|good (morning|afternoon|evening))( there)?[\s!.,]*$", re.I),
        acts.GREET,
    ),
    (
        re.compile(
            r"^\s*(thanks|thank you|thx|cheers)( (a lot|so much|very much))?[\s!.,]*$", re.I
        ),
        acts.THANK,
    ),
    (
        re.compile(r"^\s*(bye|goodbye|see you)( (now|for now|later|soon))?[\s!.,]*$", re.I),
        acts.GOODBYE,
    ),
)
# Decisions that mean the bot could not act on the message.
UNCLEAR_DECISIONS = ("unsure", "out_of_scope", "not_caught")
# Things whose mention in a full question is worth a sentence of their own: where the visitor
# is and what money they use change most answers; products and processes are the topic's own.
PLACE_AND_MONEY = ("country", "currency")
ACT_REPLIES = {
    acts.GREET: say.GREETING,
    acts.THANK: say.THANKS,
    acts.GOODBYE: say.GOODBYE,
    acts.BOT_CHALLENGE: say.BOT_CHALLENGE,
    acts.CHITCHAT: say.CHITCHAT,
}


@dataclass(frozen=True)
class PolicySettings:
    """The policy's operating points (settings DIALOGUE_*)."""

    # A message read alone is answered without offering the runner-ups only from this calibrated
    # confidence up (and the model's own threshold): below, a wrong answer is likely enough
    # (more than 1 in 20) that the alternatives are worth a button each.
    sure_confidence: float = 0.95
    # Below that but at least this sure: answer, and offer the runner-ups.
    tentative_floor: float = 0.3
    # The most options a clarification or a tentative answer offers.
    options: int = 3
    # The least belief for an intent to be offered as an option.
    option_floor: float = 0.02
    # The least belief in a sensitive intent for an unsure turn to be escalated as one.
    sensitive_floor: float = 0.3
    # Related topics suggested as buttons under an answer.
    suggestions: int = 2
    # Turns a country or currency the visitor named keeps shaping the answers.
    slot_memory_turns: int = 8


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
    settings: PolicySettings | None = None,
) -> Decision:
    """Choose the replies for a tracked turn, and whether a person should take over."""
    settings = settings or PolicySettings()
    decision = _decide(state, turn, graph, settings)
    note_outcome(state, turn, is_unclear=decision.kind in UNCLEAR_DECISIONS)
    if rules is not None:
        decision = _escalate_if_needed(state, turn, graph, rules, settings, decision)
    state.recent_answers = (
        state.recent_answers + [_normalised(reply.text) for reply in decision.replies]
    )[-RECENT_ANSWERS:]
    return decision


def _escalate_if_needed(
    state: DialogueState,
    turn: TrackedTurn,
    graph: KnowledgeGraph | None,
    rules: EscalationRules,
    settings: PolicySettings,
    decision: Decision,
) -> Decision:
    possible = tuple(
        item["intent"]
        for item in turn.ranking[: settings.options]
        if item["confidence"] >= settings.sensitive_floor
    )
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
        # "Am I talking to a real person?" asks about the bot, not for a person; "I need a human
        # being, not a bot" asks for one.
        asks_for_person=turn.act == acts.ASK_FOR_PERSON
        or turn.beliefs.get(acts.ASK_FOR_PERSON, 0.0) >= acts.FOLLOW_UP_BELIEF
        or (turn.act != acts.BOT_CHALLENGE and is_explicit_request(turn.text)),
        possible_intents=possible if decision.kind in ("clarify", "tentative") else (),
    )
    if not reason:
        return decision
    kept = []
    if reason in ANSWER_BEFORE_HANDOFF:
        if decision.kind == "clarify":
            # Asked which it was, but one of the options is sensitive: say that one's answer.
            sensitive = next(i for i in (*possible, turn.intent) if i in rules.sensitive_intents)
            decision = answer_intent(state, turn, graph, sensitive, settings, kind="answer")
        # A guess is said as it was (a person will see to the rest), without the alternatives.
        kept = [reply for reply in decision.replies if reply.kind != "alternatives"]
        state.offered = []
    connecting = PlannedReply("handoff", say.CONNECTING)
    decision = Decision("handoff", [*kept, connecting], decision.intent or turn.intent, reason)
    if state.flow:
        state.paused_flows.append(state.flow)
        state.flow = None
    # The escalation answers what these counted; if nobody can take over, counting starts again.
    state.low_confidence_streak = state.fallback_streak = 0
    return decision


def _decide(
    state: DialogueState, turn: TrackedTurn, graph: KnowledgeGraph | None, settings: PolicySettings
) -> Decision:
    offered, state.offered = state.offered, []
    suggested, state.suggested = state.suggested, []
    if state.flow:
        return continue_flow(state, turn, graph, settings)
    picked = _picked_option(turn, offered, suggested)
    if picked and flow_starting_on(picked):
        return start_flow(state, turn, graph, flow_starting_on(picked), picked)
    if picked:
        return answer_intent(state, turn, graph, picked, settings, kind="clarified")
    if turn.act in ACT_REPLIES:
        return _act_decision(state, turn.act)
    # A model trained without the conversational acts ranks none of them: then, and whenever the
    # model is not sure, a plain "hi", "thanks" or "bye" is known by its words.
    knows_acts = any(acts.is_act(intent) for intent in turn.beliefs)
    if not (knows_acts and _is_sure(turn, settings)) and (act := _act_by_words(turn.text)):
        return _act_decision(state, act)
    if turn.act == acts.ASK_FOR_PERSON:
        # The escalation rules hand over; this line stands only when they are off.
        return Decision("person_requested", [PlannedReply("person_requested", say.NO_PERSON)])
    if turn.act in (acts.AFFIRM, acts.DENY):
        text = say.AFFIRMED if turn.act == acts.AFFIRM else say.DENIED
        return Decision(turn.act, [PlannedReply(turn.act, text)])
    if turn.act == acts.OUT_OF_SCOPE:
        return Decision("out_of_scope", [PlannedReply("unsure", say.OUT_OF_SCOPE)])
    earlier = _earlier_topic_named(state, turn, graph)
    if earlier:
        return return_to_topic(state, turn, graph, settings, earlier)
    is_return = turn.is_return or (BACK_TO.search(turn.text) and not turn.is_confident)
    if is_return and len(state.topics) >= 2:
        return return_to_topic(state, turn, graph, settings)
    if turn.status != "ok" or not turn.ranking:
        return fallback(state, turn)
    intent = _topic_for_named_things(graph, turn) if turn.is_follow_up else turn.intent
    kind = "follow_up" if turn.is_follow_up else "answer"
    if turn.is_confident:
        flow = flow_starting_on(intent)
        if flow:
            return start_flow(state, turn, graph, flow, intent)
        if _is_sure(turn, settings):
            return answer_intent(state, turn, graph, intent, settings, kind=kind)
        return tentative_answer(state, turn, graph, intent, settings)
    if not _is_about_banking(turn):
        return fallback(state, turn)
    if turn.confidence >= settings.tentative_floor and not flow_starting_on(intent):
        return tentative_answer(state, turn, graph, intent, settings)
    return clarify(state, turn, graph, settings)


def _act_decision(state: DialogueState, act: str) -> Decision:
    kind = acts.ANSWERED_ACTS[act]
    buttons = []
    if act == acts.BOT_CHALLENGE:
        buttons = [{"label": say.TALK_TO_A_PERSON, "text": say.TALK_TO_A_PERSON}]
    return Decision(kind, [PlannedReply(kind, ACT_REPLIES[act], quick_replies=buttons)])


# Answers --------------------------------------------------------------------------------------


def answer_intent(
    state: DialogueState,
    turn: TrackedTurn,
    graph: KnowledgeGraph | None,
    intent: str,
    settings: PolicySettings,
    kind: str = "answer",
) -> Decision:
    """Answer an intent from its topic: what the visitor asked of it, about what they named."""
    topic = graph.topic_for_intent(intent) if graph else None
    # A question of its own is what later follow-ups are read after (a follow-up that moved to
    # a related topic keeps the question it followed).
    asked = turn.reading == "alone" and kind in ("answer", "clarified", "tentative")
    state.enter_topic(intent, topic, turn.text if asked else None)
    grounded = answers_of_node(graph, topic) if topic else []
    if not grounded:
        text = say.UNDERSTOOD.format(topic=topic_label(graph, intent))
        reply = PlannedReply("understood", text)
        return Decision(kind="understood", intent=intent, replies=[reply])
    aspect = asked_aspect(turn.text) if turn.is_follow_up or turn.act == acts.FOLLOW_UP else None
    preamble = _things_to_mention(state, turn, graph, topic, settings)
    text, sources = _answer_text(state, graph, topic, grounded, aspect, bool(preamble))
    if turn.is_follow_up:
        # What a follow-up names and the topic concerns is what this answer is about.
        sources += [key for key in turn.mentioned if key in _concerned(graph, topic)]
    if preamble:
        text = " ".join(answer.text for answer in preamble) + " " + text
        sources += [key for answer in preamble for key in answer.provenance.nodes]
    about = _referent_worth_naming(turn, graph, topic, sources)
    if about:
        text = f"About the {about['label']}: {text}"
        sources.append(about["key"])
    sources = list(dict.fromkeys(sources))
    facts = [line for key in sources for line in fact_sentences(graph, key)]
    buttons = _suggestions(state, graph, topic, settings)
    reply = PlannedReply(kind, text, sources, facts, quick_replies=buttons)
    return Decision(kind=kind, intent=intent, replies=[reply])


def _answer_text(
    state: DialogueState,
    graph: KnowledgeGraph,
    topic: str,
    grounded: list[GroundedAnswer],
    aspect: str | None,
    has_news: bool = False,
) -> tuple[str, list[str]]:
    """Return the topic's answer, or the part of it the visitor asked for, never twice running
    (unless the reply leads with something new, `has_news`).

    Sources are the topic and the nodes each sentence said quotes.
    """
    candidates = []
    if aspect:
        focused = _focused_answer(graph, topic, grounded, aspect)
        if focused:
            candidates.append(focused)
    candidates += [(answer.text, list(answer.provenance.nodes)) for answer in grounded]
    fresh = [c for c in candidates if has_news or _normalised(c[0]) not in state.recent_answers]
    if fresh:
        return fresh[0][0], [topic, *fresh[0][1]]
    # Everything the topic says was just said: say so, and point back to its gist.
    text, sources = candidates[0]
    sentence = first_sentence(text)
    if sentence[1:2].islower():
        # "Cards are..." reads "as I said, cards are..."; "UK transfers..." keeps its capitals.
        sentence = sentence[0].lower() + sentence[1:]
    return say.AS_I_SAID.format(sentence=sentence), [topic, *sources]


def _focused_answer(
    graph: KnowledgeGraph, topic: str, grounded: list[GroundedAnswer], aspect: str
) -> tuple[str, list[str]] | None:
    sentences = [s for answer in grounded for s in sentences_saying(answer.text, aspect)]
    sources = [key for answer in grounded for key in answer.provenance.nodes]
    fees = _fees_of(graph, topic)
    if aspect == "cost" and not set(fees) & set(sources):
        # The topic's own words quote none of its fees: the fees' own answers say them.
        for fee in fees[:2]:
            answer = fee_sentence(graph, fee)
            if answer:
                sentences.append(answer.text)
                sources += list(answer.provenance.nodes)
    if not sentences:
        return None
    return " ".join(dict.fromkeys(sentences)), sources


def _fees_of(graph: KnowledgeGraph, topic: str) -> list[str]:
    """Return the fees a topic concerns, directly or through its subjects; if none, those of
    related topics on the same subject ("a refund not showing" -> what card payments cost)."""
    fees = _own_fees(graph, topic)
    if not fees:
        subjects = _subjects(graph, topic)
        for item in graph.neighbours(topic, "related_topic").items:
            if subjects & _subjects(graph, item.node.key):
                fees += _own_fees(graph, item.node.key)
    return list(dict.fromkeys(fees))


def _own_fees(graph: KnowledgeGraph, topic: str) -> list[str]:
    fees = []
    for subject in graph.neighbours(topic, "concerns").items:
        if subject.node.type == "fee":
            fees.append(subject.node.key)
        fees += [item.node.key for item in graph.neighbours(subject.node.key, "has_fee").items]
    return fees


def _subjects(graph: KnowledgeGraph, topic: str) -> set[str]:
    return {
        item.node.key
        for item in graph.neighbours(topic, "concerns").items
        if item.node.type in ("process", "product")
    }


def _things_to_mention(
    state: DialogueState,
    turn: TrackedTurn,
    graph: KnowledgeGraph,
    topic: str,
    settings: PolicySettings,
) -> list[GroundedAnswer]:
    """Return sentences on what the visitor named that bears on the topic: the thing a follow-up
    swaps in, a place or currency a question names, or one named a few turns ago."""
    concerned = {item.node.key for item in graph.neighbours(topic, "concerns").items}
    named = [
        key
        for key in turn.mentioned
        if key not in concerned
        and graph.node(key).type != "topic"
        and (turn.is_follow_up or graph.node(key).type in PLACE_AND_MONEY)
    ]
    # A place or currency named turns ago shapes a new topic's answer, once.
    if not named and not turn.is_follow_up and bears_on_place_and_money(graph, topic):
        named = [
            slot["value"]
            for name in PLACE_AND_MONEY
            if (slot := state.slots.get(name))
            and state.turn_count - slot["turn"] <= settings.slot_memory_turns
            and isinstance(slot["value"], str)
        ]
    sentences = [about_thing(graph, topic, key) for key in dict.fromkeys(named)]
    return [sentence for sentence in sentences if sentence]


def _referent_worth_naming(
    turn: TrackedTurn, graph: KnowledgeGraph, topic: str, sources: list[str]
) -> dict | None:
    """Return what "that card" pointed at, when the answer is about it and does not name it.

    A bare "it" is trusted only when it points at something the topic concerns; a named noun
    ("that card") always is.
    """
    about = turn.referent
    if about is None or about["key"] in sources or about["type"] == "topic" or turn.is_follow_up:
        return None
    if turn.referent_was_named:
        return about
    concerned = {item.node.key for item in graph.neighbours(topic, "concerns").items}
    return about if about["key"] in concerned else None


def _suggestions(
    state: DialogueState, graph: KnowledgeGraph, topic: str, settings: PolicySettings
) -> list[dict]:
    """Offer related topics not yet discussed as buttons; remember them so a click is taken."""
    discussed = {item["intent"] for item in state.topics}
    related = [
        graph.node(item.node.key)
        for item in graph.neighbours(topic, "related_topic").items
        if item.node.attributes.get("intent") not in discussed
    ][: settings.suggestions]
    state.suggested = [
        {"intent": node.attributes["intent"], "label": node.label} for node in related
    ]
    return [{"label": node.label, "text": node.label} for node in related]


def tentative_answer(
    state: DialogueState,
    turn: TrackedTurn,
    graph: KnowledgeGraph | None,
    intent: str,
    settings: PolicySettings,
) -> Decision:
    """Answer the likeliest intent, and offer the runner-ups in case it was another."""
    decision = answer_intent(state, turn, graph, intent, settings, kind="tentative")
    # As many others as a clarification would offer: the guess took one place of its own.
    others = _options(turn, graph, settings, besides=intent)
    if others:
        state.offered = others
        state.suggested = []
        decision.replies[0].quick_replies = []
        named = [topic_label(graph, option["intent"]) for option in others]
        decision.replies.append(
            PlannedReply(
                "alternatives",
                say.ALTERNATIVES.format(options=spoken_list(named)),
                quick_replies=_buttons(others),
            )
        )
    return decision


def clarify(
    state: DialogueState, turn: TrackedTurn, graph: KnowledgeGraph | None, settings: PolicySettings
) -> Decision:
    """Ask which of the likeliest intents the visitor means, with a button for each."""
    state.offered = _options(turn, graph, settings)
    if len(state.offered) < 2:
        state.offered = []
        return fallback(state, turn)
    named = [topic_label(graph, option["intent"]) for option in state.offered]
    text = say.CLARIFY.format(options=spoken_list(named))
    reply = PlannedReply("clarify", text, quick_replies=_buttons(state.offered))
    return Decision(kind="clarify", intent=state.offered[0]["intent"], replies=[reply])


def _options(
    turn: TrackedTurn,
    graph: KnowledgeGraph | None,
    settings: PolicySettings,
    besides: str | None = None,
) -> list:
    """Return the likeliest intents (but `besides`) as options: {"intent", "label"}."""
    likely = [
        item["intent"]
        for item in turn.ranking
        if item["confidence"] >= settings.option_floor and item["intent"] != besides
    ]
    return [
        {"intent": intent, "label": _button_label(graph, intent)}
        for intent in likely[: settings.options]
    ]


def _button_label(graph: KnowledgeGraph | None, intent: str) -> str:
    label = topic_label(graph, intent)
    return label[0].upper() + label[1:]


def _buttons(options: list[dict]) -> list[dict]:
    return [{"label": option["label"], "text": option["label"]} for option in options]


def return_to_topic(
    state: DialogueState,
    turn: TrackedTurn,
    graph: KnowledgeGraph | None,
    settings: PolicySettings,
    intent: str | None = None,
) -> Decision:
    """Go back to an earlier topic: the one named, else the one the classifier believes in most,
    else the one before."""
    if intent is None:
        belief = {item["intent"]: item["confidence"] for item in turn.ranking}
        earlier_topics = state.topics[:-1]
        candidates = [i for i in earlier_topics if belief.get(i["intent"], 0) >= RESUME_FLOOR]
        chosen = max(candidates, key=lambda i: belief[i["intent"]]) if candidates else None
        intent = (chosen or earlier_topics[-1])["intent"]
    decision = answer_intent(state, turn, graph, intent, settings, kind="resumed_topic")
    reply = decision.replies[0]
    reply.text = say.BACK_TO_TOPIC.format(label=topic_label(graph, intent)) + reply.text
    return decision


def _earlier_topic_named(
    state: DialogueState, turn: TrackedTurn, graph: KnowledgeGraph | None
) -> str | None:
    """Return the earlier topic the message goes back to by naming what only it concerned.

    "Coming back to the card delivery..." after talk of card delivery, then of exchange rates.
    A message sure of a new topic of its own is a new question, not a return.
    """
    if graph is None or len(state.topics) < 2 or not turn.mentioned:
        return None
    earlier_intents = {item["intent"] for item in state.topics[:-1]}
    goes_back = turn.is_return or BACK_TO.search(turn.text)
    is_new_question = turn.is_confident and not (turn.is_follow_up or goes_back)
    if is_new_question and turn.intent not in earlier_intents:
        return None
    named = set(turn.mentioned) - _concerned(graph, state.active_topic)
    earlier = [
        item["intent"]
        for item in reversed(state.topics[:-1])
        if item["intent"] != state.active_intent and named & _concerned(graph, item["topic"])
    ]
    # Of the earlier topics about what was named, the one the classifier believes in most; on a
    # tie (or no belief), the latest.
    return max(earlier, key=lambda intent: turn.beliefs.get(intent, 0.0), default=None)


def _concerned(graph: KnowledgeGraph, topic: str | None) -> set[str]:
    if topic is None or topic not in graph:
        return set()
    return {item.node.key for item in graph.neighbours(topic, "concerns").items}


def _topic_for_named_things(graph: KnowledgeGraph | None, turn: TrackedTurn) -> str:
    """Return the topic a follow-up means: the one it follows, or a related topic of the same
    kind about the thing it names ("top-up by card fee", then "and by bank transfer?").

    Each thing named is first read as the topic's own kind of thing where a name fits one;
    `turn.mentioned` is updated to what the names were read as.
    """
    intent = turn.intent
    topic = graph.topic_for_intent(intent) if graph else None
    if topic is None:
        return intent
    turn.mentioned = list(
        dict.fromkeys(
            the_topics_own(graph, topic, key, turn.mention_texts.get(key, ""))
            for key in turn.mentioned
        )
    )
    concerned = _concerned(graph, topic)
    kinds = _term_kinds(graph, concerned)
    for key in turn.mentioned:
        if key in concerned or graph.node(key).type == "topic":
            continue
        for item in graph.neighbours(topic, "related_topic").items:
            other = _concerned(graph, item.node.key)
            if key in other and _term_kinds(graph, other) == kinds:
                return item.node.attributes.get("intent", intent)
    return intent


def _term_kinds(graph: KnowledgeGraph, keys: set[str]) -> set[str]:
    return {graph.node(key).type for key in keys if graph.node(key).type in ("fee", "limit")}


def fallback(state: DialogueState, turn: TrackedTurn) -> Decision:
    """Answer what was not understood: never silence."""
    if turn.status == "ok":
        text = say.OUT_OF_SCOPE if state.low_confidence_streak >= 1 else say.UNSURE
        return Decision(
            kind="out_of_scope" if state.low_confidence_streak >= 1 else "unsure",
            replies=[PlannedReply("unsure", text)],
        )
    if turn.status == "timeout":
        # Said honestly: the message was fine, the service was overloaded.
        return Decision(kind="busy", replies=[PlannedReply("busy", say.BUSY)])
    if turn.status == "unknown_message":
        return Decision(kind="not_caught", replies=[PlannedReply("not_caught", say.NOT_CAUGHT)])
    text = say.GREETING if state.turn_count == 1 else say.ACKNOWLEDGEMENT
    return Decision(kind="acknowledged", replies=[PlannedReply("acknowledged", text)])


# Flows ---------------------------------------------------------------------------------------


def start_flow(
    state: DialogueState, turn: TrackedTurn, graph, flow: Flow, intent: str | None = None
) -> Decision:
    """Begin a task, taking any slot values the opening message already gave."""
    intent = intent or turn.intent
    if state.flow:
        state.paused_flows.append(state.flow)
    topic = graph.topic_for_intent(intent) if graph else None
    state.enter_topic(intent, topic, turn.text)
    state.flow = {"name": flow.name, "step": 0, "slots": {}, "started_turn": state.turn_count}
    _fill(state, flow, _values_for(flow, turn, state))
    decision = _ask_current_step(state, flow, graph, kind="flow_started", intent=intent)
    if topic:
        # The task is how the bot answers the topic.
        decision.replies[0].sources.insert(0, topic)
    return decision


def continue_flow(
    state: DialogueState, turn: TrackedTurn, graph, settings: PolicySettings
) -> Decision:
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
    if step.is_confirmation and (YES.search(turn.text) or turn.act == acts.AFFIRM):
        return _finish(state, flow, graph, "done")
    if step.is_confirmation and (NO.search(turn.text) or turn.act == acts.DENY):
        return Decision(kind="flow_unconfirmed", replies=[PlannedReply("flow", say.CONFIRM_AGAIN)])
    if turn.act == acts.ASK_FOR_PERSON:
        return Decision("person_requested", [PlannedReply("person_requested", say.NO_PERSON)])
    if turn.act in ACT_REPLIES:
        return _aside(state, flow, graph, _act_decision(state, turn.act))
    if _is_new_flow(turn, flow):
        return start_flow(state, turn, graph, flow_starting_on(turn.intent))
    if turn.is_confident and turn.intent not in flow.starts_on:
        return _digress(state, turn, graph, flow, settings)
    ask = step.retry or step.ask
    text, sources = render(ask, state.flow["slots"], graph)
    state.flow["retries"] = state.flow.get("retries", 0) + 1
    return Decision(kind="flow_retry", replies=[PlannedReply("flow", text, sources)])


def _aside(state: DialogueState, flow: Flow, graph, decision: Decision) -> Decision:
    """Answer a greeting or a thank-you mid-task, then ask the task's question again."""
    ask, sources = render(flow.steps[state.flow["step"]].ask, state.flow["slots"], graph)
    decision.replies.append(
        PlannedReply("flow", say.BACK_TO_FLOW.format(title=flow.title, ask=ask), sources)
    )
    return decision


def _digress(
    state: DialogueState, turn: TrackedTurn, graph, flow: Flow, settings: PolicySettings
) -> Decision:
    flow_state = state.flow
    state.flow = None
    decision = answer_intent(state, turn, graph, turn.intent, settings, kind="digression")
    decision.replies[0].quick_replies = []
    state.suggested = []
    state.flow = flow_state
    return _aside(state, flow, graph, decision)


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


def _picked_option(turn: TrackedTurn, offered: list[dict], suggested: list[dict]) -> str | None:
    """Return the option the visitor took: "the second one", its label, or a sure intent."""
    if offered and turn.picked:
        return turn.picked["intent"]
    if offered and turn.is_confident and turn.intent in {option["intent"] for option in offered}:
        return turn.intent
    lowered = turn.text.strip().lower()
    for options in (offered, suggested):
        exact = [option["intent"] for option in options if option["label"].lower() == lowered]
        if exact:
            return exact[0]
    named = [option["intent"] for option in offered if option["label"].lower() in lowered]
    return named[0] if len(named) == 1 else None


def _is_sure(turn: TrackedTurn, settings: PolicySettings) -> bool:
    """Return whether the turn's intent is answered without offering the runner-ups."""
    return turn.is_confident and (turn.is_follow_up or turn.confidence >= settings.sure_confidence)


def _act_by_words(text: str) -> str | None:
    return next((act for pattern, act in ACTS_BY_WORDS if pattern.match(text)), None)


def _is_about_banking(turn: TrackedTurn) -> bool:
    # Unsure is worth an answer or a question when the message names something the bank knows,
    # or the classifier puts most of its belief on a few topics; "what's the weather like"
    # spreads it thin (or onto small talk) and is out of scope, not a choice between topics.
    top = sum(item["confidence"] for item in turn.ranking[:3])
    return bool(turn.mentioned or turn.ambiguous) or top >= CLARIFY_MASS or turn.is_follow_up


def _normalised(text: str) -> str:
    return " ".join(re.findall(r"[a-z0-9]+", text.lower()))
