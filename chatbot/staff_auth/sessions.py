"""When a staff session has ended: idle too long, signed out everywhere, or not verified.

A session is stamped at sign-in with its user's session generation and with the time of its
user's last activity. Signing out everywhere raises the generation, so every session stamped
before ends on its next request or console check, with any session backend.
"""

from __future__ import annotations

from importlib import import_module

from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.db.models import F

from chatbot.staff_auth import clock, second_factor
from chatbot.staff_auth.models import SessionGeneration

LAST_ACTIVITY = "staff_last_activity"
GENERATION = "staff_session_generation"
# Activity is written to the session at most once a minute, not on every request.
ACTIVITY_RESOLUTION_SECONDS = 60

IDLE = "idle"
SIGNED_OUT_EVERYWHERE = "signed_out_everywhere"
UNVERIFIED = "unverified"
SIGNED_OUT = "signed_out"


def sessions_group(user_id: object) -> str:
    """Return the channel group of a user's open staff sockets."""
    return f"staff-sessions-{user_id}"


def current_generation(user_id: object) -> int:
    """Return the user's session generation (0 before they first sign out everywhere)."""
    numbers = SessionGeneration.objects.filter(user_id=user_id).values_list("number", flat=True)
    return next(iter(numbers), 0)


def raise_generation(user) -> None:
    """End every session of the user stamped with the current generation."""
    SessionGeneration.objects.get_or_create(user=user)
    SessionGeneration.objects.filter(user=user).update(number=F("number") + 1)


def stamp(session, user) -> None:
    """Stamp a newly signed-in session with the user's generation and the time."""
    session[GENERATION] = current_generation(user.pk)
    session[LAST_ACTIVITY] = clock.now().timestamp()


def why_ended(session, user, is_verified: bool) -> str | None:
    """Return why this signed-in session has ended, or None while it is good."""
    if session.get(GENERATION, 0) != current_generation(user.pk):
        return SIGNED_OUT_EVERYWHERE
    last_activity = session.get(LAST_ACTIVITY)
    idle_limit = settings.STAFF_IDLE_TIMEOUT_MINUTES * 60
    if last_activity is not None and clock.now().timestamp() - last_activity > idle_limit:
        return IDLE
    if not is_verified and second_factor.requires_second_factor(user):
        return UNVERIFIED
    return None


def note_activity(session) -> None:
    """Record that the session's user is active now (written at most once a minute)."""
    now = clock.now().timestamp()
    if now - session.get(LAST_ACTIVITY, 0) >= ACTIVITY_RESOLUTION_SECONDS:
        session[LAST_ACTIVITY] = now


def why_socket_session_ended(session_key: str | None, user) -> str | None:
    """Return why the session a socket opened with has ended, read afresh, or None."""
    session = stored_session(session_key)
    if session is None or session.get(SESSION_KEY) != str(user.pk):
        return SIGNED_OUT
    is_verified = second_factor.session_device(session, user) is not None
    return why_ended(session, user, is_verified)


def note_socket_activity(session_key: str | None) -> None:
    """Record a console action as activity in the stored session, if it still exists."""
    session = stored_session(session_key)
    if session is None or SESSION_KEY not in session:
        return
    before = session.get(LAST_ACTIVITY)
    note_activity(session)
    if session.get(LAST_ACTIVITY) != before:
        session.save()


def stored_session(session_key: str | None):
    """Return the stored session of this key, loaded now (None without a key)."""
    if not session_key:
        return None
    engine = import_module(settings.SESSION_ENGINE)
    # Read lazily on first access; a session removed since has no user in it.
    return engine.SessionStore(session_key)
