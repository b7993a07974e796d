"""Who a websocket is: the one place a visitor token becomes access to a conversation."""

import uuid
from dataclasses import dataclass

from chatbot import actions
from chatbot.tokens import InvalidToken, issue_visitor_token, read_visitor_token


@dataclass(frozen=True)
class VisitorSession:
    """A visitor admitted to their open conversation."""

    visitor_id: uuid.UUID
    token: str
    conversation_id: uuid.UUID
    last_seq: int


def admit_visitor(token: str | None) -> VisitorSession:
    """Admit a returning visitor by token, or a new one without; raise on a bad token."""
    is_new_visitor = token is None
    if is_new_visitor:
        visitor_id = actions.create_visitor().pk
        token = issue_visitor_token(visitor_id)
    else:
        visitor_id = read_visitor_token(token)
    conversation = actions.open_conversation(visitor_id, is_new_visitor=is_new_visitor)
    if conversation is None:
        # Signed by this server, but the visitor is gone (deleted for privacy, say).
        raise InvalidToken
    return VisitorSession(visitor_id, token, conversation.pk, conversation.last_seq)
