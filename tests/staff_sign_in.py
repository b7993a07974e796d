"""Sign staff in the way the site asks them to, second factor included, for any test.

An administrator must prove a TOTP code after the password; these helpers give one a device
with a known key and compute its codes as the authenticator app would.
"""

from __future__ import annotations

import time
from binascii import unhexlify

from django_otp.oath import TOTP

STEP_SECONDS = 30
# A device accepts each time step's code once: the last step each key was signed in with.
_last_used_step: dict[str, int] = {}


def totp_code(key_hex: str, at: float | None = None) -> str:
    """Return the 6-digit code an authenticator app shows for this key at a time (now)."""
    totp = TOTP(unhexlify(key_hex), step=STEP_SECONDS)
    totp.time = time.time() if at is None else at
    return f"{totp.token():06d}"


def unused_code(key_hex: str) -> str:
    """Return the current code, after waiting for the next one if this one was used already."""
    step = int(time.time() // STEP_SECONDS)
    if step <= _last_used_step.get(key_hex, -1):
        time.sleep((step + 1) * STEP_SECONDS - time.time() + 0.05)
        step = int(time.time() // STEP_SECONDS)
    _last_used_step[key_hex] = step
    return totp_code(key_hex, step * STEP_SECONDS)


def add_admin_with_second_factor(username: str, password: str, key_hex: str | None = None):
    """Create an administrator with a confirmed TOTP device; return the user and its key."""
    from chatbot.staff_users import add_staff_user

    user = add_staff_user(username, password, "admin")
    return user, add_authenticator(user, key_hex)


def add_authenticator(user, key_hex: str | None = None) -> str:
    """Give the user a confirmed TOTP device (with this key, or a random one); return its key."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice(user=user, name="Authenticator app", confirmed=True)
    if key_hex:
        device.key = key_hex
    device.save()
    return device.key


def sign_in(client, username: str, password: str, key_hex: str | None = None, next_page: str = ""):
    """Sign in through the sign-in pages with a Django test client; return the last response."""
    data = {"username": username, "password": password}
    if next_page:
        data["next"] = next_page
    response = client.post("/accounts/login/", data)
    if response.status_code == 302 and response["Location"] == "/accounts/login/code/":
        assert key_hex, f"{username} must give a second factor: pass their device's key"
        response = client.post("/accounts/login/code/", {"code": unused_code(key_hex)})
    assert response.status_code == 302, f"{username} was not signed in"
    return response
