"""The knowledge editor's page."""

from django.contrib.auth.decorators import login_required
from django.contrib.staticfiles import finders
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.csrf import ensure_csrf_cookie

from knowledge.roles import can_edit_knowledge

# Vendored by `make vendor` from the npm registry; the editor lists neighbourhoods without it.
GRAPH_LIBRARY = "knowledge/vendor/cytoscape.min.js"


@login_required
@ensure_csrf_cookie
def editor_page(request: HttpRequest) -> HttpResponse:
    """Serve the editor to knowledge editors; anyone else logged in gets 403."""
    if not can_edit_knowledge(request.user):
        raise PermissionDenied("Only knowledge editors may use the editor.")
    # Only linked when present, so a machine without it gets no 404 in the browser's console.
    has_graph_library = finders.find(GRAPH_LIBRARY) is not None
    return render(
        request,
        "knowledge/editor.html",
        {"user": request.user, "has_graph_library": has_graph_library},
    )
