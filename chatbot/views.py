"""HTTP pages of the conversation app: the demo bank page, a health check, the knowledge
editor's "try it" box, and the answer to a failed CSRF check."""

from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_http_methods

from chatbot.visible_text import has_visible_text
from knowledge.api import editors_only, json_body
from knowledge.service import current_graph
from knowledge.trying import try_utterance
from knowledge.validation import InvalidKnowledge, Problem

MAX_TRY_CHARS = 2000
# The JSON APIs answer errors in JSON (docs/knowledge.md, docs/handoff.md), CSRF failures too.
JSON_API_PREFIXES = ("/knowledge/api/", "/console/api/")


@require_GET
def demo_page(request: HttpRequest) -> HttpResponse:
    """Render the demo bank's website with the chat widget on it."""
    return render(request, "chatbot/demo.html")


@require_GET
def health(request: HttpRequest) -> JsonResponse:
    """Report whether the database answers."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})


@require_http_methods(["POST"])
@editors_only
def try_message(request: HttpRequest) -> JsonResponse:
    """Answer a message as the live bot would as a new conversation's first, and show why."""
    from chatbot.live_player import live_player

    text = json_body(request).get("text")
    if not isinstance(text, str) or not has_visible_text(text) or len(text) > MAX_TRY_CHARS:
        raise InvalidKnowledge([Problem("text", "type a message of 1 to 2000 characters")])
    player = live_player()
    outcome = player(text.strip())
    return JsonResponse(try_utterance(current_graph(), text.strip(), player.understanding, outcome))


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """Refuse a write without a valid CSRF token: in JSON on the APIs, as a page elsewhere."""
    message = (
        "The request has no valid CSRF token: reload the page and try again "
        "(API clients send the csrftoken cookie's value in the X-CSRFToken header)."
    )
    if request.path.startswith(JSON_API_PREFIXES):
        return JsonResponse(
            {"error": "forbidden", "reason": "csrf_failed", "message": message}, status=403
        )
    return render(request, "403.html", {"exception": message}, status=403)
