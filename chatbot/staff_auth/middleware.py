"""End a staff session that went idle, was signed out everywhere, or lacks its second factor.

Runs after authentication, django-otp and messages: an ended session is signed out before any
view sees its user, so every page, JSON endpoint and the admin treats the request as anonymous
(pages send it to sign in, APIs refuse it). Otherwise the request counts as activity.
"""

from asgiref.sync import iscoroutinefunction, sync_to_async
from django.contrib import messages
from django.utils.decorators import sync_and_async_middleware

from chatbot.staff_auth import actions, sessions

ENDED_MESSAGES = {
    sessions.IDLE: "You were signed out after a while without activity. Sign in again.",
    sessions.SIGNED_OUT_EVERYWHERE: "You were signed out everywhere. Sign in again.",
    sessions.UNVERIFIED: "Sign in again with your second factor.",
}


def check_session(request) -> None:
    """Sign out the request's session if it has ended; else note the user's activity."""
    user = request.user
    if not user.is_authenticated:
        return
    reason = sessions.why_ended(request.session, user, user.is_verified())
    if reason is None:
        sessions.note_activity(request.session)
        return
    actions.sign_out(request, reason)
    messages.info(request, ENDED_MESSAGES[reason])


@sync_and_async_middleware
def staff_session_guard(get_response):
    """Check each signed-in request's session before the view runs."""
    if iscoroutinefunction(get_response):

        async def middleware(request):
            await sync_to_async(check_session)(request)
            return await get_response(request)

    else:

        def middleware(request):
            check_session(request)
            return get_response(request)

    return middleware
