"""Websocket URL routes, each behind its own origin check.

The widget runs on the company's own site, so its origins are listed (CHAT_ALLOWED_ORIGINS);
the agent console is served by this server, so its origin must be one of ALLOWED_HOSTS, and
the agent is known by their session login, guarded like the staff pages' (idle, signed out,
second factor).
"""

from channels.auth import AuthMiddlewareStack
from channels.security.websocket import AllowedHostsOriginValidator, OriginValidator
from django.conf import settings
from django.urls import path

from chatbot.consumers import ChatConsumer
from chatbot.staff_auth.websocket import StaffSessionGuard
from handoff.consumers import AgentConsumer


def websocket_urlpatterns() -> list:
    """Return the websocket routes (read at start-up, after settings are loaded)."""
    return [
        path("ws/chat/", OriginValidator(ChatConsumer.as_asgi(), settings.CHAT_ALLOWED_ORIGINS)),
        path(
            "ws/agent/",
            AllowedHostsOriginValidator(
                AuthMiddlewareStack(StaffSessionGuard(AgentConsumer.as_asgi()))
            ),
        ),
    ]
