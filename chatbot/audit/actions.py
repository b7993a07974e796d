"""Write to the audit trail: the one function every part of the platform records through."""

from __future__ import annotations

from typing import Any

from chatbot import log_context
from chatbot.audit.models import AuditEntry

# What is recorded. Other apps name their action with one of these.
SIGN_IN = "sign_in"
SIGN_IN_FAILED = "sign_in_failed"
SIGN_IN_THROTTLED = "sign_in_throttled"
SIGN_OUT = "sign_out"
SIGN_OUT_EVERYWHERE = "sign_out_everywhere"
SECOND_FACTOR_ADDED = "second_factor_added"
SECOND_FACTOR_REMOVED = "second_factor_removed"
TRANSCRIPT_OPENED = "transcript_opened"
PERSONAL_DATA_REVEALED = "personal_data_revealed"
PERSONAL_DATA_KEY_ROTATED = "personal_data_key_rotated"
DATA_EXPORTED = "data_exported"
DATA_ERASED = "data_erased"
RETENTION_PURGED = "retention_purged"
ROLE_CHANGED = "role_changed"
SETTING_CHANGED = "setting_changed"


def record(
    action: str,
    *,
    user=None,
    api_key=None,
    request=None,
    target_type: str = "",
    target_id: Any = "",
    details: dict | None = None,
    address: str | None = None,
) -> AuditEntry:
    """Append an entry: by a staff user, an API key, or the platform when neither is given.

    `request` supplies the address and, when `user` is not given, the signed-in user; a
    websocket passes its client's `address` instead. `details` must hold ids, counts and names
    of fields only, never content.
    """
    if user is None and request is not None:
        request_user = getattr(request, "user", None)
        if request_user is not None and request_user.is_authenticated:
            user = request_user
    if api_key is not None:
        actor_kind, actor_id, actor_name = AuditEntry.API_KEY, str(api_key.pk), str(api_key)
    elif user is not None:
        actor_kind, actor_id, actor_name = AuditEntry.STAFF, str(user.pk), user.get_username()
    else:
        actor_kind, actor_id, actor_name = AuditEntry.SYSTEM, "", ""
    return AuditEntry.objects.create(
        action=action,
        actor_kind=actor_kind,
        actor_id=actor_id,
        actor_name=actor_name[:150],
        target_type=target_type,
        target_id=str(target_id)[:128],
        ip_address=address or client_address(request),
        request_id=log_context.request_id.get() or "",
        details=details or {},
    )


def client_address(request) -> str | None:
    """Return the address the request came from, as the server saw it (None without one)."""
    if request is None:
        return None
    return request.META.get("REMOTE_ADDR") or None
