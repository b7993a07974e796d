"""HTTP pages of the conversation app: the demo bank page, a health check, and the knowledge
editor's "try it" box."""

from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_http_methods

from knowledge.api import editors_only, json_body
from knowledge.service import current_graph
from knowledge.trying import try_utterance
from knowledge.validation import InvalidKnowledge, Problem

MAX_TRY_CHARS = 2000


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
    if not isinstance(text, str) or not text.strip() or len(text) > MAX_TRY_CHARS:
        raise InvalidKnowledge([Problem("text", "type a message of 1 to 2000 characters")])
    player = live_player()
    outcome = player(text.strip())
    return JsonResponse(try_utterance(current_graph(), text.strip(), player.understanding, outcome))
