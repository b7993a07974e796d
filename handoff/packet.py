"""The handoff packet: everything an agent needs to take over without asking again."""

from django.utils import timezone

from chatbot.models import Event, Turn
from handoff.models import CannedReply, Handoff
from knowledge.answers import spoken
from knowledge.service import current_graph

SUMMARY_TOPICS = 6
SUGGESTIONS = 4


def handoff_packet(handoff: Handoff) -> dict:
    """Return the summary, intents, slots, knowledge used, what the bot tried, the transcript."""
    conversation = handoff.conversation
    state = conversation.state or {}
    turns = list(
        Turn.objects.filter(conversation=conversation)
        .select_related("visitor_event")
        .order_by("visitor_event__seq")
    )
    events = list(Event.objects.filter(conversation=conversation).order_by("seq"))
    knowledge = _knowledge_used(events)
    return {
        "handoff_id": handoff.pk,
        "conversation_id": str(conversation.pk),
        # Who the company's website signed the visitor in as; None for an anonymous one.
        "customer": conversation.visitor.identity(),
        "status": handoff.status,
        "reason": handoff.reason,
        "intent": handoff.intent,
        "skill": handoff.skill.name if handoff.skill else None,
        "requested_at": handoff.requested_at.isoformat(),
        "waiting_seconds": round(
            ((handoff.accepted_at or timezone.now()) - handoff.requested_at).total_seconds()
        ),
        "summary": _summary(state, turns),
        "intents": [
            {
                "intent": t.understanding.get("intent"),
                "confidence": t.understanding.get("confidence"),
                "turn": index,
            }
            for index, t in enumerate(turns, start=1)
            if t.understanding.get("status") == "ok"
        ],
        "slots": state.get("slots", {}),
        "knowledge": knowledge,
        "bot_tried": [
            {
                "turn": index,
                "decision": t.trace.get("decision"),
                "intent": t.trace.get("intent"),
                "text": t.visitor_event.text,
            }
            for index, t in enumerate(turns, start=1)
        ],
        "frustration": state.get("frustration", 0.0),
        "transcript": [event.as_frame() for event in events],
        "notes": [
            {
                "author": note.author.display_name if note.author else "",
                "text": note.text,
                "at": note.created_at.isoformat(),
            }
            for note in handoff.notes.select_related("author")
        ],
        "suggestions": _suggestions(handoff.intent, knowledge),
        "canned": list(CannedReply.objects.values("id", "title", "text")),
        "agent_name": handoff.assigned_to.display_name if handoff.assigned_to else "",
    }


def _summary(state: dict, turns: list[Turn]) -> str:
    topics = [item["intent"].replace("_", " ") for item in state.get("topics", [])][
        -SUMMARY_TOPICS:
    ]
    parts = [f"{len(turns)} messages with the bot"]
    if topics:
        parts.append("about " + ", ".join(dict.fromkeys(topics)))
    finished = state.get("finished_flows", [])
    if finished:
        parts.append(
            "tasks: "
            + ", ".join(f"{f['name'].replace('_', ' ')} ({f['outcome']})" for f in finished)
        )
    if state.get("flow"):
        parts.append(f"in the middle of {state['flow']['name'].replace('_', ' ')}")
    return "; ".join(parts) + "."


def _knowledge_used(events: list[Event]) -> list[dict]:
    seen: dict[str, dict] = {}
    for event in events:
        for source in (event.data or {}).get("sources", []):
            seen.setdefault(source["key"], source)
    return list(seen.values())


def _suggestions(intent: str, knowledge: list[dict]) -> list[dict]:
    """Suggest replies from the graph: the intent topic's answers, then facts the bot used."""
    graph = current_graph()
    suggestions = []
    topic = graph.topic_for_intent(intent) if intent else None
    keys = ([topic] if topic else []) + [item["key"] for item in knowledge if item["key"] in graph]
    from knowledge.answers import answer_of_node

    for key in dict.fromkeys(keys):
        node = graph.node(key)
        grounded = answer_of_node(graph, key) if node.answers else None
        if grounded:
            suggestions.append({"text": grounded.text, "source": {"key": key, "label": node.label}})
        elif node.attributes:
            facts = "; ".join(
                f"{name.replace('_', ' ')}: {spoken(value)}"
                for name, value in node.attributes.items()
            )
            suggestions.append(
                {"text": f"{node.label} — {facts}", "source": {"key": key, "label": node.label}}
            )
        if len(suggestions) >= SUGGESTIONS:
            break
    return suggestions
