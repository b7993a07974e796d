"""The visitor admin's actions: download one person's data, erase people's data (after a
confirmation page). Administrators only; both are recorded in the audit trail."""

import json

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from chatbot.models import Visitor
from chatbot.privacy import actions
from chatbot.privacy.deletion import conversation_sizes

# The permission name the actions ask the ModelAdmin for: `has_personal_data_permission`.
PERMISSION = "personal_data"


def is_administrator(request: HttpRequest) -> bool:
    """Only administrators export or erase a person's data."""
    return request.user.is_active and request.user.is_superuser


@admin.action(description="Export data (JSON)", permissions=[PERMISSION])
def export_data(model_admin, request: HttpRequest, visitors) -> HttpResponse | None:
    """Download the selected visitor's data as a JSON file (one visitor at a time)."""
    if visitors.count() != 1:
        model_admin.message_user(
            request, "Select exactly one visitor to export.", level=messages.ERROR
        )
        return None
    visitor = visitors.get()
    data = actions.export_subject(visitor, request=request)
    response = HttpResponse(
        json.dumps(data, ensure_ascii=False, indent=2), content_type="application/json"
    )
    response["Content-Disposition"] = f'attachment; filename="visitor-{visitor.pk}.json"'
    return response


@admin.action(description="Erase data", permissions=[PERMISSION])
def erase_data(model_admin, request: HttpRequest, visitors) -> TemplateResponse | None:
    """Ask for confirmation with what will go; once confirmed, erase each selected visitor."""
    if request.POST.get("confirmed") != "yes":
        return TemplateResponse(
            request,
            "privacy/erase_confirmation.html",
            {
                **model_admin.admin_site.each_context(request),
                "title": "Erase these people's data?",
                "opts": model_admin.model._meta,
                "subjects": [_what_goes(visitor) for visitor in visitors],
                "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            },
        )
    totals: dict[str, int] = {}
    erased = 0
    for visitor in visitors:
        for name, count in actions.erase_subject(visitor, request=request).items():
            totals[name] = totals.get(name, 0) + count
        erased += 1
    model_admin.message_user(
        request,
        f"Erased the data of {erased} visitor(s): "
        + ", ".join(f"{count} {name}" for name, count in sorted(totals.items())),
        level=messages.SUCCESS,
    )
    return None


def _what_goes(visitor: Visitor) -> dict:
    sizes = conversation_sizes(visitor.conversations.values_list("pk", flat=True))
    return {"visitor": visitor, **sizes}
