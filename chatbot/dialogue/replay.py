"""Rebuild a conversation's dialogue state from its log: every turn replayed in order.

The state saved with each turn is a cache; this is the source. Each turn is replayed with the
understanding it used (stored on the turn), through the same tracker and policy, against the
current knowledge graph.
"""

import uuid

from chatbot.dialogue.policy import decide
from chatbot.dialogue.state import DialogueState
from chatbot.dialogue.tracker import track
from chatbot.models import Turn
from knowledge.service import current_graph


def rebuild_state(conversation_id: uuid.UUID) -> dict:
    """Return the dialogue state the conversation's turns lead to, replayed from the start."""
    state = DialogueState()
    graph = current_graph()
    turns = (
        Turn.objects.filter(conversation_id=conversation_id)
        .select_related("visitor_event")
        .order_by("visitor_event__seq")
    )
    for turn in turns:
        tracked = track(state, turn.visitor_event.text, turn.understanding or None, graph)
        decide(state, tracked, graph)
    return state.as_dict()
