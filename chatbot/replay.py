"""Rebuild a conversation's dialogue state from its log: every turn replayed in order.

The state saved with each turn is a cache; this is the source. Each turn is replayed with the
understanding it used (stored on the turn), through the same turn function and configuration
as the live bot, against the current knowledge graph.
"""

import dataclasses
import uuid

from chatbot import engine
from chatbot.models import Turn
from chatbot.turn_configuration import configured_turn
from knowledge.service import current_graph


def rebuild_state(conversation_id: uuid.UUID) -> dict:
    """Return the dialogue state the conversation's turns lead to, replayed from the start."""
    graph = current_graph()
    # The words a language model would choose change no state: the grounded text is enough.
    configuration = dataclasses.replace(configured_turn(), backend=None)
    turns = (
        Turn.objects.filter(conversation_id=conversation_id)
        .select_related("visitor_event")
        .order_by("visitor_event__seq")
    )
    state: dict = {}
    for turn in turns:
        text = turn.visitor_event.text
        result = engine.run_turn(state, text, turn.understanding or None, graph, configuration)
        state = result.state
    return state
