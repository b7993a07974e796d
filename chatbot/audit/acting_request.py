"""The HTTP request being served, for audit entries written where no request is passed in
(a role changed by a model signal, say): the admin's save knows who acts, the signal does not."""

import contextvars

from asgiref.sync import iscoroutinefunction
from django.utils.decorators import sync_and_async_middleware

current: contextvars.ContextVar = contextvars.ContextVar("audit_acting_request", default=None)


@sync_and_async_middleware
def remember_acting_request(get_response):
    """Keep the request in a context variable while it is served (after authentication)."""
    if iscoroutinefunction(get_response):

        async def middleware(request):
            token = current.set(request)
            try:
                return await get_response(request)
            finally:
                current.reset(token)

    else:

        def middleware(request):
            token = current.set(request)
            try:
                return get_response(request)
            finally:
                current.reset(token)

    return middleware
