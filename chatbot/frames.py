"""Parse and validate the widget's frames; plain Python, no Django.

Every rule of docs/protocol.md about a frame's shape lives here, so the consumer only routes.
"""

from dataclasses import dataclass

from chatbot import bounded_json
from chatbot.visible_text import has_visible_text

VISITOR_FRAME_TYPES = (
    "hello",
    "message",
    "resume",
    "typing",
    "ping",
    "handoff_request",
    "handoff_cancel",
    "leave_message",
    "rate",
    "feedback",
)
FEEDBACK_RATINGS = ("up", "down")
MAX_CONTACT_CHARS = 200
MAX_CLIENT_ID_CHARS = 64
MAX_TOKEN_CHARS = 512
# The largest sequence number a database column holds (PostgreSQL's integer).
MAX_SEQ = 2**31 - 1
# A visitor's frame is a flat object; a little room is left for clients that add metadata.
MAX_FRAME_DEPTH = 8


@dataclass(frozen=True)
class Limits:
    """The size limits a frame is checked against."""

    max_frame_bytes: int
    max_message_chars: int


class FrameError(Exception):
    """A frame broke the protocol; `code` is stable, `message` is for people."""

    def __init__(self, code: str, message: str, **details: object) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details

    def as_frame(self) -> dict:
        """Return the protocol's error frame for this error."""
        return {"type": "error", "code": self.code, "message": self.message, **self.details}


def parse_frame(text: str | None, binary: bytes | None, limits: Limits) -> dict:
    """Return the frame as a validated dict, or raise FrameError."""
    if text is None:
        raise FrameError("invalid_json", "Frames must be JSON text, not binary.")
    # A character is at least one byte, so only long texts need encoding to be measured.
    if len(text) > limits.max_frame_bytes or (
        len(text) * 4 > limits.max_frame_bytes
        and len(text.encode("utf-8")) > limits.max_frame_bytes
    ):
        raise FrameError(
            "frame_too_large", f"A frame can be at most {limits.max_frame_bytes} bytes."
        )
    try:
        frame = bounded_json.loads(text, MAX_FRAME_DEPTH)
    except bounded_json.TooDeeplyNested as error:
        raise FrameError("invalid_frame", str(error)) from None
    except ValueError:
        raise FrameError("invalid_json", "The frame is not valid JSON.") from None
    if not isinstance(frame, dict) or not isinstance(frame.get("type"), str):
        raise FrameError("invalid_frame", "A frame must be a JSON object with a string 'type'.")
    frame_type = frame["type"]
    if frame_type not in VISITOR_FRAME_TYPES:
        raise FrameError("unknown_type", f"Unknown frame type {frame_type[:40]!r}.")
    return _VALIDATORS[frame_type](frame, limits)


def _field_error(field: str, message: str, frame: dict) -> FrameError:
    details: dict = {"field": field}
    client_id = frame.get("client_id")
    if isinstance(client_id, str) and len(client_id) <= MAX_CLIENT_ID_CHARS:
        details["client_id"] = client_id
    return FrameError("invalid_field", message, **details)


def _sequence_number(frame: dict, field: str = "last_seq") -> int:
    value = frame.get(field, 0)
    # bool is an int subclass in Python, but `true` is not a sequence number.
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise _field_error(field, f"'{field}' must be a non-negative integer.", frame)
    return value


def _validate_hello(frame: dict, limits: Limits) -> dict:
    token = frame.get("token")
    if token is not None and (not isinstance(token, str) or not 0 < len(token) <= MAX_TOKEN_CHARS):
        raise _field_error("token", "'token' must be null or the token the server issued.", frame)
    identity = frame.get("identity")
    if identity is not None and not isinstance(identity, dict):
        raise _field_error("identity", "'identity' must be null or a signed identity.", frame)
    # Its fields and signature are checked by the consumer (chatbot.identity), with the secret.
    return {
        "type": "hello",
        "token": token,
        "last_seq": _sequence_number(frame),
        "identity": identity,
    }


def _validate_message(frame: dict, limits: Limits) -> dict:
    client_id = frame.get("client_id")
    if not isinstance(client_id, str) or not 0 < len(client_id) <= MAX_CLIENT_ID_CHARS:
        raise _field_error(
            "client_id",
            f"'client_id' must be a string of 1 to {MAX_CLIENT_ID_CHARS} characters.",
            frame,
        )
    text = frame.get("text")
    if not isinstance(text, str):
        raise _field_error("text", "'text' must be a string.", frame)
    text = text.strip()
    if not has_visible_text(text):
        raise _field_error("text", "'text' must not be empty or only invisible characters.", frame)
    if len(text) > limits.max_message_chars:
        raise FrameError(
            "message_too_long",
            f"A message can be at most {limits.max_message_chars} characters.",
            client_id=client_id,
        )
    return {"type": "message", "client_id": client_id, "text": text}


def _validate_resume(frame: dict, limits: Limits) -> dict:
    if "last_seq" not in frame:
        raise _field_error("last_seq", "'last_seq' is required.", frame)
    return {"type": "resume", "last_seq": _sequence_number(frame)}


def _validate_typing(frame: dict, limits: Limits) -> dict:
    is_typing = frame.get("is_typing")
    if not isinstance(is_typing, bool):
        raise _field_error("is_typing", "'is_typing' must be true or false.", frame)
    return {"type": "typing", "is_typing": is_typing}


def _validate_ping(frame: dict, limits: Limits) -> dict:
    return {"type": "ping"}


def _validate_bare(frame: dict, limits: Limits) -> dict:
    return {"type": frame["type"]}


def _validate_leave_message(frame: dict, limits: Limits) -> dict:
    text = frame.get("text")
    if not isinstance(text, str) or not has_visible_text(text):
        raise _field_error(
            "text", "'text' must be a string with visible characters, not only spaces.", frame
        )
    if len(text.strip()) > limits.max_message_chars:
        raise FrameError(
            "message_too_long", f"A message can be at most {limits.max_message_chars} characters."
        )
    contact = frame.get("contact") or ""
    if not isinstance(contact, str) or len(contact) > MAX_CONTACT_CHARS:
        raise _field_error(
            "contact", f"'contact' must be text of at most {MAX_CONTACT_CHARS} characters.", frame
        )
    return {"type": "leave_message", "text": text.strip(), "contact": contact.strip()}


def _validate_rate(frame: dict, limits: Limits) -> dict:
    score = frame.get("score")
    if isinstance(score, bool) or not isinstance(score, int) or not 1 <= score <= 5:
        raise _field_error("score", "'score' must be a whole number from 1 to 5.", frame)
    return {"type": "rate", "score": score}


def _validate_feedback(frame: dict, limits: Limits) -> dict:
    seq = frame.get("seq")
    if isinstance(seq, bool) or not isinstance(seq, int) or not 1 <= seq <= MAX_SEQ:
        raise _field_error(
            "seq", "'seq' must be the rated answer's sequence number, a positive integer.", frame
        )
    rating = frame.get("rating")
    if rating not in FEEDBACK_RATINGS:
        raise _field_error("rating", "'rating' must be up or down.", frame)
    return {"type": "feedback", "seq": seq, "rating": rating}


_VALIDATORS = {
    "handoff_request": _validate_bare,
    "handoff_cancel": _validate_bare,
    "leave_message": _validate_leave_message,
    "rate": _validate_rate,
    "feedback": _validate_feedback,
    "hello": _validate_hello,
    "message": _validate_message,
    "resume": _validate_resume,
    "typing": _validate_typing,
    "ping": _validate_ping,
}
