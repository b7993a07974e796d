"""HTTP pages of the conversation app: the demo bank page and a health check."""

from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET


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
