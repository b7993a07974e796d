"""A sign-in between the password and the second factor, kept in the anonymous session."""

from __future__ import annotations

from django.contrib.auth import get_user_model

from chatbot.staff_auth import clock

PENDING = "staff_sign_in_pending"
# The code must follow the password within this time, or the password is asked again.
PENDING_SECONDS = 300


def begin(request, user, next_page: str) -> None:
    """Remember that this user gave the right password, and where they were going."""
    request.session.cycle_key()
    request.session[PENDING] = {
        "user_id": user.pk,
        "backend": user.backend,
        "at": clock.now().timestamp(),
        "next": next_page,
    }


def pending_user(request):
    """Return the user whose password was given in this session and not yet completed, or None."""
    pending = request.session.get(PENDING)
    if not pending or clock.now().timestamp() - pending["at"] > PENDING_SECONDS:
        return None
    user = get_user_model()._default_manager.filter(pk=pending["user_id"], is_active=True).first()
    if user is not None:
        user.backend = pending["backend"]
    return user


def next_page(request) -> str:
    """Return the page the pending sign-in was going to ("" for the user's own)."""
    return (request.session.get(PENDING) or {}).get("next", "")


def finish(request) -> None:
    """Forget the pending sign-in."""
    request.session.pop(PENDING, None)
