"""Who a websocket is: the one place a visitor token becomes access to a conversation."""

import uuid
from dataclasses import dataclass

from chatbot import actions
from chatbot.identity import Identity
from chatbot.tokens import ExpiredToken, InvalidToken, issue_visitor_token, read_visitor_token


@dataclass(frozen=True)
class VisitorSession:
    """A visitor admitted to their open conversation."""

    visitor_id: uuid.UUID
    token: str
    conversation_id: uuid.UUID
    last_seq: int
    # {"user_id", "name"} of an identified customer; None for an anonymous visitor.
    identity: dict | None = None


def admit_visitor(token: str | None, identity: Identity | None = None) -> VisitorSession:
    """Admit a returning visitor by token, or a new one without; raise on a bad token.

    With a verified identity, the visitor is that customer's, whatever the token says: their
    conversation follows them from browser to browser, and this browser's anonymous one joins
    them. The token issued is then the customer's.
    """
    browser_visitor_id = _browser_visitor(token, identity)
    if identity is not None:
        visitor = actions.identified_visitor(
            identity.user_id,
            identity.name,
            identity.email,
            browser_visitor_id=browser_visitor_id,
        )
        visitor_id, token, is_new_visitor = visitor.pk, issue_visitor_token(visitor.pk), False
    elif browser_visitor_id is None:
        visitor_id, is_new_visitor = actions.create_visitor().pk, True
        token = issue_visitor_token(visitor_id)
    else:
        visitor_id, is_new_visitor = browser_visitor_id, False
    conversation = actions.open_conversation(visitor_id, is_new_visitor=is_new_visitor)
    if conversation is None:
        # Signed by this server, but the visitor is gone (deleted for privacy, say).
        raise InvalidToken
    if identity is not None:
        told = identity.as_frame()
    else:
        told = None if is_new_visitor else _returning_identity(conversation)
    return VisitorSession(visitor_id, token, conversation.pk, conversation.last_seq, told)


def _browser_visitor(token: str | None, identity: Identity | None) -> uuid.UUID | None:
    """Who this browser chatted as. A signed identity needs no token: a bad one is ignored."""
    if token is None:
        return None
    try:
        return read_visitor_token(token)
    except (InvalidToken, ExpiredToken):
        if identity is None:
            raise
        return None


def _returning_identity(conversation) -> dict | None:
    """A returning identified customer's {"user_id", "name"}, for their widget; else None."""
    # open_conversation has read the visitor: this costs no query.
    known = conversation.visitor.identity()
    return {"user_id": known["user_id"], "name": known["name"]} if known else None
