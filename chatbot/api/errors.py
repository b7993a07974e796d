"""Every API error in one shape: {"error": {"code", "message", "details"}}."""

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404
from rest_framework import exceptions
from rest_framework.views import exception_handler


class Conflict(exceptions.APIException):
    """The request is well-formed but the resource's state forbids it (e.g. already closed)."""

    status_code = 409
    default_code = "conflict"
    default_detail = "The resource's state does not allow this."


def api_exception_handler(error, context):
    """DRF's handling, reshaped: a stable code, a sentence for people, the details if any."""
    if isinstance(error, Http404):
        error = exceptions.NotFound("No such resource.")
    elif isinstance(error, DjangoPermissionDenied):
        error = exceptions.PermissionDenied()
    response = exception_handler(error, context)
    if response is None:
        return None  # a server error: Django's 500 handling and logging
    if isinstance(error, exceptions.ValidationError):
        code, message, details = "invalid", "The request is not valid.", error.detail
    else:
        code = error.get_codes() if isinstance(error.get_codes(), str) else error.default_code
        message, details = str(error.detail), {}
    if isinstance(error, exceptions.Throttled) and error.wait is not None:
        details = {"retry_after": round(error.wait, 1)}
    response.data = {"error": {"code": code, "message": message, "details": details}}
    return response
