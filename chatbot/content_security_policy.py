"""The Content-Security-Policy header on every response the platform sends.

Scripts, styles, images and fonts come from this origin only, and never inline: the templates
and static scripts hold no inline code, and scripts set styles through the CSSOM
(`element.style`), which the policy does not govern. Pages may open a websocket to the host they
were served from; CSP_CONNECT_SRC adds other hosts. Nothing may frame a page, load a plugin or
set a base URL.
"""

from asgiref.sync import iscoroutinefunction
from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.http import HttpRequest, HttpResponseBase
from django.utils.decorators import sync_and_async_middleware

HEADER = "Content-Security-Policy"


def build_policy(
    host: str | None, extra_connect_sources: list[str], extra_image_sources: tuple[str, ...] = ()
) -> str:
    """Return the policy for a page served from `host` (host[:port]; None when unknown)."""
    # 'self' covers the page's ws: and wss: only in browsers that follow CSP level 3.
    sockets = [f"ws://{host}", f"wss://{host}"] if host else []
    directives = {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", *extra_image_sources],
        "font-src": ["'self'"],
        "connect-src": ["'self'", *sockets, *extra_connect_sources],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
    return "; ".join(f"{name} {' '.join(sources)}" for name, sources in directives.items())


def policy_for(request: HttpRequest, extra_image_sources: tuple[str, ...] = ()) -> str:
    """Return the policy for a response to this request."""
    try:
        host = request.get_host()
    except DisallowedHost:
        host = None  # The response refuses the host; it gets the policy without sockets.
    return build_policy(host, settings.CSP_CONNECT_SRC, extra_image_sources)


def add_policy(request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
    """Set the header unless the view set a policy of its own."""
    if HEADER not in response:
        response[HEADER] = policy_for(request)
    return response


@sync_and_async_middleware
def content_security_policy_middleware(get_response):
    """Add the Content-Security-Policy header to every response, static files included."""
    if iscoroutinefunction(get_response):

        async def middleware(request: HttpRequest) -> HttpResponseBase:
            return add_policy(request, await get_response(request))

    else:

        def middleware(request: HttpRequest) -> HttpResponseBase:
            return add_policy(request, get_response(request))

    return middleware
