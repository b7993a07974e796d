"""Every API error in one shape: {"error": {"code", "message", "details"}}."""

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404
from rest_framework import exceptions
from rest_framework.views import exception_handler

from knowledge import actions as knowledge_actions
from knowledge.validation import InvalidKnowledge, KnowledgeConflict


class Conflict(exceptions.APIException):
    """The request is well-formed but the resource's state forbids it (e.g. already closed)."""

    status_code = 409
    default_code = "conflict"
    default_detail = "The resource's state does not allow this."

    def __init__(self, detail=None, details: dict | None = None) -> None:
        super().__init__(detail)
        self.details = details or {}


def _from_knowledge(error: Exception) -> exceptions.APIException | None:
    """The knowledge actions' refusals, as API errors with every problem in the details."""
    if isinstance(error, KnowledgeConflict):
        problems = [problem.as_dict() for problem in error.problems]
        return Conflict("The knowledge graph as stored refuses this.", {"problems": problems})
    if isinstance(error, InvalidKnowledge):
        return exceptions.ValidationError({"problems": [p.as_dict() for p in error.problems]})
    if isinstance(error, knowledge_actions.Conflict):
        return Conflict(str(error), {"current": error.current})
    if isinstance(error, knowledge_actions.NotFound):
        return exceptions.NotFound(str(error))
    return None


def api_exception_handler(error, context):
    """DRF's handling, reshaped: a stable code, a sentence for people, the details if any."""
    if isinstance(error, Http404):
        error = exceptions.NotFound("No such resource.")
    elif isinstance(error, DjangoPermissionDenied):
        error = exceptions.PermissionDenied()
    else:
        error = _from_knowledge(error) or error
    response = exception_handler(error, context)
    if response is None:
        return None  # a server error: Django's 500 handling and logging
    if isinstance(error, exceptions.ValidationError):
        code, message, details = "invalid", "The request is not valid.", error.detail
    else:
        code = error.get_codes() if isinstance(error.get_codes(), str) else error.default_code
        message, details = str(error.detail), getattr(error, "details", {})
    if isinstance(error, exceptions.Throttled) and error.wait is not None:
        details = {"retry_after": round(error.wait, 1)}
    response.data = {"error": {"code": code, "message": message, "details": details}}
    return response
