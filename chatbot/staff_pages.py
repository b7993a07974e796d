"""Where each kind of staff user belongs: their page after login, and instead of an empty admin.

Editors work in the knowledge editor and agents in the console; only administrators have
anything to see in Django's admin. Logging in without a `next` page, or opening `/admin/`
without an administrator's rights, lands on the user's own page.
"""

from asgiref.sync import iscoroutinefunction, sync_to_async
from django.conf import settings
from django.contrib import admin
from django.contrib.auth.views import LoginView
from django.shortcuts import redirect
from django.utils.decorators import sync_and_async_middleware

from handoff.roles import can_use_console
from knowledge.roles import can_edit_knowledge

# The page a login form leads to, named on the form so a user knows where they are going.
DESTINATIONS = (
    ("/console/", "Agent console"),
    ("/knowledge/", "Knowledge editor"),
    ("/admin/", "Administration"),
)


def own_page(user) -> str | None:
    """Return the page this user works in, or None for a user without a staff role."""
    if not (user.is_authenticated and user.is_active):
        return None
    if can_edit_knowledge(user):
        return "/knowledge/"
    if can_use_console(user):
        return "/console/"
    return None


def destination_name(next_path: str) -> str:
    """Return the name of the page a login leads to ("Staff sign-in" when unknown)."""
    for prefix, name in DESTINATIONS:
        if next_path.startswith(prefix):
            return name
    return "Staff sign-in"


class StaffLoginView(LoginView):
    """The login page, headed with the page it leads to; without `next`, the user's own page."""

    def get_context_data(self, **kwargs) -> dict:
        context = super().get_context_data(**kwargs)
        # get_redirect_url() has checked `next` is a page of this site, so it is safe as a link.
        next_page = self.get_redirect_url()
        context["destination"] = destination_name(next_page)
        context["destination_url"] = next_page or self.request.path
        return context

    def get_default_redirect_url(self) -> str:
        return own_page(self.request.user) or settings.LOGIN_REDIRECT_URL


ADMIN_PREFIX = "/admin/"


def _redirect_from_empty_admin(request):
    """Return a redirect to the user's own page when the admin would show them nothing."""
    user = request.user
    if user.is_authenticated and not user.is_superuser and not admin.site.get_app_list(request):
        page = own_page(user)
        if page:
            return redirect(page)
    return None


def _is_admin_page(path: str) -> bool:
    return path.startswith(ADMIN_PREFIX) and not path.startswith(ADMIN_PREFIX + "logout/")


@sync_and_async_middleware
def admin_to_own_page(get_response):
    """Send a logged-in user who has nothing to see in the admin to their own page.

    Only admin pages pay for the check (and, under ASGI, for its hop to a thread).
    """
    if iscoroutinefunction(get_response):

        async def middleware(request):
            if _is_admin_page(request.path):
                response = await sync_to_async(_redirect_from_empty_admin)(request)
                if response is not None:
                    return response
            return await get_response(request)

    else:

        def middleware(request):
            if _is_admin_page(request.path):
                response = _redirect_from_empty_admin(request)
                if response is not None:
                    return response
            return get_response(request)

    return middleware
