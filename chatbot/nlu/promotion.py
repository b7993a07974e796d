"""Changing the served intent model as an action: the pointer moves and model.promoted is queued.

The pointer is a file (`chatbot.nlu.artefacts`), not a row: the event is written in a
transaction around the move, so a failed move writes no event. Only a process that dies between
the move and the commit can lose the event.
"""

from django.db import transaction

from chatbot.nlu import artefacts
from chatbot.webhooks.events import MODELS_ORDERING_KEY
from chatbot.webhooks.outbox import emit


def promote(version: str) -> None:
    """Serve `version` from now on."""
    with transaction.atomic():
        promoted(version, artefacts.promoted_version())
        artefacts.promote(version)


def roll_back() -> str:
    """Serve again the model the current one replaced; return it."""
    with transaction.atomic():
        previous = artefacts.previous_version()
        if previous is not None:
            promoted(previous, artefacts.promoted_version())
        return artefacts.roll_back()


def promoted(version: str, previous: str | None) -> None:
    """Queue model.promoted: `version` serves now, in place of `previous`."""
    emit("model.promoted", {"version": version, "previous": previous}, MODELS_ORDERING_KEY)
