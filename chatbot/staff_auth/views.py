"""Sign-in pages: password, second-factor code, enrolment, sign-in security, signing out.

After the password, a user with a second factor gives a code, and an administrator without one
enrols first; only then is the session signed in (until then it is anonymous to every page).
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST
from django_otp import login as otp_login
from django_otp import verify_token

from chatbot.staff_auth import actions, pending, second_factor
from chatbot.staff_auth.forms import CodeForm, ThrottledAuthenticationForm, throttled_message
from chatbot.staff_pages import StaffLoginView, own_page

CODE_URL = "/accounts/login/code/"
ENROL_URL = "/accounts/login/enrol/"
SECURITY_URL = "/accounts/security/"
WRONG_CODE = "That code is not right. Enter the code your app shows now."


class SignInView(StaffLoginView):
    """The password step: throttled; a second factor follows for those who need one."""

    form_class = ThrottledAuthenticationForm

    def form_valid(self, form) -> HttpResponse:
        user = form.get_user()
        device = second_factor.confirmed_device(user)
        if device is None and not user.is_superuser:
            actions.sign_in(self.request, user, None)
            return HttpResponseRedirect(self.get_success_url())
        pending.begin(self.request, user, self.get_redirect_url())
        return redirect(CODE_URL if device is not None else ENROL_URL)


def second_factor_code(request: HttpRequest) -> HttpResponse:
    """Ask the user whose password was right for their authenticator app's code."""
    user = pending.pending_user(request)
    if user is None:
        return _password_again(request)
    device = second_factor.confirmed_device(user)
    if device is None:
        return redirect(ENROL_URL)
    form = CodeForm(request.POST if request.method == "POST" else None)
    if form.is_valid() and _code_is_right(request, form, user, device):
        return _finish_sign_in(request, user, device)
    return render(request, "staff_auth/code.html", {"form": form, "username": user.get_username()})


def second_factor_enrolment(request: HttpRequest) -> HttpResponse:
    """Enrol an administrator without a second factor, before any staff page opens to them."""
    user = pending.pending_user(request)
    if user is None:
        return _password_again(request)
    if second_factor.confirmed_device(user) is not None:
        return redirect(CODE_URL)
    device = second_factor.enrolment_device(user)
    form = CodeForm(request.POST if request.method == "POST" else None)
    if form.is_valid() and _code_is_right(request, form, user, device):
        actions.add_second_factor(request, user, device)
        return _finish_sign_in(request, user, device)
    return render(
        request,
        "staff_auth/enrol.html",
        {**_enrolment_context(device), "form": form, "forced": True},
    )


@login_required
def security_page(request: HttpRequest) -> HttpResponse:
    """Show the user's second factor, to add or remove, and the button to sign out everywhere."""
    user = request.user
    device = second_factor.confirmed_device(user)
    form = CodeForm(request.POST if request.method == "POST" else None)
    if request.method == "POST":
        if device is None:
            enrolling = second_factor.enrolment_device(user)
            if form.is_valid() and _code_is_right(request, form, user, enrolling):
                actions.add_second_factor(request, user, enrolling)
                otp_login(request, enrolling)
                messages.success(request, "Your second factor is on: sign-ins will ask for a code.")
                return redirect(SECURITY_URL)
        elif user.is_superuser:
            messages.error(request, "An administrator must keep a second factor.")
            return redirect(SECURITY_URL)
        elif form.is_valid() and _code_is_right(request, form, user, device):
            actions.remove_second_factor(request, user)
            messages.success(request, "Your second factor is removed.")
            return redirect(SECURITY_URL)
    context = {"form": form, "device": device, "own_page": own_page(user) or "/"}
    if device is None:
        context.update(_enrolment_context(second_factor.enrolment_device(user)))
    return render(request, "staff_auth/security.html", context)


@require_POST
def sign_out(request: HttpRequest) -> HttpResponse:
    """Sign out of this browser."""
    actions.sign_out(request)
    messages.info(request, "You are signed out.")
    return redirect(settings.LOGOUT_REDIRECT_URL)


@require_POST
@login_required
def sign_out_everywhere(request: HttpRequest) -> HttpResponse:
    """Sign the user out of every browser, this one too, and close their console sockets."""
    actions.sign_out_everywhere(request)
    messages.info(request, "You are signed out everywhere: every session of yours has ended.")
    return redirect(settings.LOGOUT_REDIRECT_URL)


def admin_sign_in(request: HttpRequest) -> HttpResponse:
    """Send the admin's own login to the staff sign-in, keeping where it leads."""
    query = request.GET.urlencode(safe="/")
    return redirect(settings.LOGIN_URL + (f"?{query}" if query else ""))


def _code_is_right(request, form: CodeForm, user, device) -> bool:
    """Check the code unless sign-ins are locked out; count and record a wrong one."""
    username = user.get_username()
    until = actions.throttled_until(request, username)
    if until is None:
        if device.confirmed:
            verified = verify_token(user, device.persistent_id, form.cleaned_data["code"])
        else:
            verified = device.verify_token(form.cleaned_data["code"])
        if verified:
            return True
        until = actions.fail_sign_in(request, username, actions.SECOND_FACTOR)
    form.add_error(None, throttled_message(until) if until is not None else WRONG_CODE)
    return False


def _finish_sign_in(request, user, device) -> HttpResponse:
    next_page = pending.next_page(request)
    pending.finish(request)
    actions.sign_in(request, user, device)
    allowed = url_has_allowed_host_and_scheme(
        next_page, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return redirect(next_page if next_page and allowed else own_page(user) or "/")


def _password_again(request) -> HttpResponse:
    pending.finish(request)
    messages.info(request, "Sign in again: the code must follow the password within 5 minutes.")
    return redirect(settings.LOGIN_URL)


def _enrolment_context(device) -> dict:
    return {
        "qr_code": second_factor.qr_code_svg(device),
        "secret": second_factor.secret_text(device),
    }
