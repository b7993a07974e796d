"""Sign-in's writes, each recorded in the audit trail (never a password or a code)."""

from __future__ import annotations

from datetime import datetime

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.contrib.auth import get_user_model, login, logout
from django.db import transaction
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from chatbot.audit import actions as audit
from chatbot.staff_auth import sessions, throttle

PASSWORD = "password"
SECOND_FACTOR = "second_factor"


def sign_in(request, user, device: TOTPDevice | None) -> None:
    """Sign the user in on this request's session, verified by the device when given."""
    login(request, user, backend=getattr(user, "backend", None))
    if device is not None:
        otp_login(request, device)
    sessions.stamp(request.session, user)
    throttle.forget_failures(throttle.account_key(user.get_username()))
    audit.record(
        audit.SIGN_IN,
        user=user,
        request=request,
        target_type="user",
        target_id=user.pk,
        details={"second_factor": device is not None},
    )


def fail_sign_in(request, username: str, stage: str) -> datetime | None:
    """Count and record a failed sign-in; return when a lockout it started ends, if it did."""
    locked_until = throttle.count_failure(_keys(request, username))
    audit.record(
        audit.SIGN_IN_FAILED,
        request=request,
        **_target(username),
        details={"stage": stage, "lockout_started": locked_until is not None},
    )
    return locked_until


def throttled_until(request, username: str) -> datetime | None:
    """Return when sign-ins for this username or address may resume, recording a refusal."""
    until = throttle.locked_until(_keys(request, username))
    if until is not None:
        audit.record(
            audit.SIGN_IN_THROTTLED,
            request=request,
            **_target(username),
            details={"until": until.isoformat(timespec="seconds")},
        )
    return until


def sign_out(request, reason: str = "requested") -> None:
    """End this session, recorded with why (asked, idle, unverified)."""
    user = request.user
    if user.is_authenticated:
        audit.record(
            audit.SIGN_OUT,
            user=user,
            request=request,
            target_type="user",
            target_id=user.pk,
            details={"reason": reason},
        )
    logout(request)


def sign_out_everywhere(request) -> None:
    """End every session of the signed-in user, in every browser, and close their sockets."""
    with transaction.atomic():
        _end_every_session(request.user, request=request)
    logout(request)


def _end_every_session(user, request=None, details: dict | None = None) -> None:
    """End all the user's sessions and, after the commit, their open sockets; record it."""
    sessions.raise_generation(user)
    audit.record(
        audit.SIGN_OUT_EVERYWHERE,
        user=user if request is not None else None,
        request=request,
        target_type="user",
        target_id=user.pk,
        details=details,
    )
    transaction.on_commit(lambda: close_sockets(user.pk))


def close_sockets(user_id: object) -> None:
    """Tell the user's open staff sockets to check their session now (it has ended)."""
    async_to_sync(get_channel_layer().group_send)(
        sessions.sessions_group(user_id), {"type": "staff.session_changed"}
    )


@transaction.atomic
def add_second_factor(request, user, device: TOTPDevice) -> None:
    """Confirm the device as the user's second factor; it verifies this session."""
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    TOTPDevice.objects.filter(user=user, confirmed=False).delete()
    audit.record(
        audit.SECOND_FACTOR_ADDED,
        user=user,
        request=request,
        target_type="user",
        target_id=user.pk,
        details={"device_id": device.pk, "kind": "totp"},
    )


@transaction.atomic
def remove_second_factor(request, user) -> int:
    """Remove the user's TOTP devices, by the user or (without a request) the operator."""
    device_ids = list(TOTPDevice.objects.filter(user=user).values_list("pk", flat=True))
    TOTPDevice.objects.filter(pk__in=device_ids).delete()
    audit.record(
        audit.SECOND_FACTOR_REMOVED,
        user=user if request is not None else None,
        request=request,
        target_type="user",
        target_id=user.pk,
        details={"device_ids": device_ids, "by": "user" if request is not None else "operator"},
    )
    return len(device_ids)


@transaction.atomic
def reset_second_factor(user) -> int:
    """Remove the user's devices and end all their sessions: the operator's way back in."""
    removed = remove_second_factor(None, user)
    _end_every_session(user, details={"by": "operator"})
    return removed


def _keys(request, username: str) -> list:
    address = audit.client_address(request)
    return [throttle.account_key(username), throttle.address_key(address)]


def _target(username: str) -> dict:
    # The account, when one has this name; the name typed is never stored (it may be a password).
    user = get_user_model()._default_manager.filter(**{get_user_model().USERNAME_FIELD: username})
    user_id = user.values_list("pk", flat=True).first()
    return {"target_type": "user", "target_id": user_id} if user_id else {}
