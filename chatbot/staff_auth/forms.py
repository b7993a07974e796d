"""The sign-in forms: a password form that is throttled, and a code form."""

from __future__ import annotations

import math
from datetime import datetime

from django import forms
from django.contrib.auth import authenticate
from django.contrib.auth.forms import AuthenticationForm

from chatbot.staff_auth import actions, clock
from chatbot.staff_auth.second_factor import normalized_code


def throttled_message(until: datetime) -> str:
    """Say when sign-in may be tried again, the same whether or not the account exists."""
    minutes = max(1, math.ceil((until - clock.now()).total_seconds() / 60))
    return (
        "Too many failed sign-ins for this account or from this address. "
        f"Try again after {until:%H:%M} UTC (in {minutes} minute{'s' if minutes != 1 else ''})."
    )


class ThrottledAuthenticationForm(AuthenticationForm):
    """Django's login form, refusing every attempt while the account or address is locked out."""

    def clean(self) -> dict:
        username = self.cleaned_data.get("username")
        password = self.cleaned_data.get("password")
        if username is None or not password:
            return self.cleaned_data
        until = actions.throttled_until(self.request, username)
        if until is not None:
            raise forms.ValidationError(throttled_message(until), code="throttled")
        self.user_cache = authenticate(self.request, username=username, password=password)
        if self.user_cache is None:
            until = actions.fail_sign_in(self.request, username, actions.PASSWORD)
            if until is not None:
                raise forms.ValidationError(throttled_message(until), code="throttled")
            raise self.get_invalid_login_error()
        self.confirm_login_allowed(self.user_cache)
        return self.cleaned_data


class CodeForm(forms.Form):
    """A six-digit code from the authenticator app."""

    code = forms.CharField(label="Code", max_length=12)

    def clean_code(self) -> str:
        code = normalized_code(self.cleaned_data["code"])
        if not (code.isascii() and code.isdigit() and len(code) == 6):
            raise forms.ValidationError("Enter the 6 digits your authenticator app shows.")
        return code
