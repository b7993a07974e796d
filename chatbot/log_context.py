"""What a log line is about: the conversation and the request (HTTP request or websocket) that
caused it, carried in context variables so that every line written on their behalf has them,
on the event loop, on the database threads and on the turn's threads alike."""

import contextvars
import logging
import re
import uuid

conversation_id: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "conversation_id", default=None
)
request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)

# An id a client or proxy sends is kept only if it is short and plain: it goes into every line.
_CLIENT_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")


def new_request_id() -> str:
    return uuid.uuid4().hex[:16]


def accepted_request_id(sent: str | None) -> str:
    """Return the id a proxy or client sent (X-Request-ID) if it is plain, else a new one."""
    if sent and _CLIENT_REQUEST_ID.fullmatch(sent):
        return sent
    return new_request_id()


class ContextFilter(logging.Filter):
    """Put the current conversation and request ids on every record (None when there is none)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.conversation_id = conversation_id.get()
        record.request_id = request_id.get()
        return True


def request_id_middleware(get_response):
    """Give each HTTP request an id (the X-Request-ID it came with, if plain) for its log lines,
    and send it back in the response's X-Request-ID."""

    def middleware(request):
        token = request_id.set(accepted_request_id(request.headers.get("X-Request-ID")))
        try:
            response = get_response(request)
            response["X-Request-ID"] = request_id.get()
            return response
        finally:
            request_id.reset(token)

    return middleware
