"""The TOTP second factor: who must use one, a user's device, enrolment and its QR code."""

from __future__ import annotations

from base64 import b32encode

import segno
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.models import Device
from django_otp.plugins.otp_totp.models import TOTPDevice

DEVICE_NAME = "Authenticator app"


def confirmed_device(user) -> TOTPDevice | None:
    """Return the user's confirmed TOTP device, or None."""
    return TOTPDevice.objects.filter(user=user, confirmed=True).order_by("pk").first()


def requires_second_factor(user) -> bool:
    """Return whether the user must prove a second factor: every admin, and whoever enrolled."""
    return user.is_superuser or confirmed_device(user) is not None


def enrolment_device(user) -> TOTPDevice:
    """Return the user's device being enrolled (unconfirmed), made with a new secret if none."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("pk").first()
    return device or TOTPDevice.objects.create(user=user, name=DEVICE_NAME, confirmed=False)


def qr_code_svg(device: TOTPDevice) -> str:
    """Return the device's otpauth:// address as an inline SVG QR code (no style attributes)."""
    return segno.make(device.config_url, error="m").svg_inline(scale=5, title="QR code")


def secret_text(device: TOTPDevice) -> str:
    """Return the secret in base32, in groups of four, for typing into an app by hand."""
    secret = b32encode(device.bin_key).decode().rstrip("=")
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def session_device(session, user) -> Device | None:
    """Return the confirmed device of this user that verified the session, or None."""
    persistent_id = session.get(DEVICE_ID_SESSION_KEY)
    device = Device.from_persistent_id(persistent_id) if persistent_id else None
    if device is None or device.user_id != user.pk or not device.confirmed:
        return None
    return device


def normalized_code(code: str) -> str:
    """Return a typed code without the spaces an app shows in the middle of it."""
    return "".join(code.split())
