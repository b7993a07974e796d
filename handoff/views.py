"""The agent console's pages and small JSON endpoints; agents only."""

import functools

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.decorators.http import require_GET

from chatbot.audit import actions as audit
from handoff.actions import may_see
from handoff.models import Agent, CannedReply, Handoff, Skill
from handoff.packet import handoff_packet
from handoff.report import handoff_report
from handoff.roles import can_use_console


def agents_only_page(view):
    """Send strangers to log in; refuse anyone logged in without the agent role."""

    @functools.wraps(view)
    @login_required
    def checked(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not can_use_console(request.user):
            raise PermissionDenied("Only agents may use the console.")
        return view(request, *args, **kwargs)

    return checked


def agents_only_api(view):
    """Answer 403 in JSON to anyone without the agent role."""

    @functools.wraps(view)
    def checked(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not can_use_console(request.user):
            reason = "login_required" if not request.user.is_authenticated else "not_an_agent"
            return JsonResponse({"error": "forbidden", "reason": reason}, status=403)
        return view(request, *args, **kwargs)

    return checked


@require_GET
@agents_only_page
@ensure_csrf_cookie
def console_page(request: HttpRequest) -> HttpResponse:
    agent = Agent.for_user(request.user)
    return render(request, "handoff/console.html", {"user": request.user, "agent": agent.summary()})


@require_GET
@agents_only_page
def report_page(request: HttpRequest) -> HttpResponse:
    agent = Agent.for_user(request.user)
    return render(request, "handoff/report.html", {"user": request.user, "agent": agent.summary()})


@require_GET
@agents_only_api
def report(request: HttpRequest) -> JsonResponse:
    return JsonResponse(handoff_report())


@require_GET
@agents_only_api
def canned(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"canned": list(CannedReply.objects.values("id", "title", "text"))})


@require_GET
@agents_only_api
def agents(request: HttpRequest) -> JsonResponse:
    return JsonResponse(
        {
            "agents": [
                {
                    "id": a.pk,
                    "name": a.display_name,
                    "online": a.is_online,
                    "skills": [s.name for s in a.skills.all()],
                }
                for a in Agent.objects.prefetch_related("skills").order_by("display_name")
            ],
            "skills": list(Skill.objects.order_by("name").values_list("name", flat=True)),
        }
    )


@require_GET
@agents_only_api
def packet(request: HttpRequest, handoff_id: int) -> JsonResponse:
    handoff = (
        Handoff.objects.filter(pk=handoff_id)
        .select_related("conversation", "skill", "assigned_to")
        .first()
    )
    if handoff is None or not may_see(Agent.for_user(request.user), handoff):
        return JsonResponse({"error": "not_found"}, status=404)
    audit.record(
        audit.TRANSCRIPT_OPENED,
        request=request,
        target_type="conversation",
        target_id=handoff.conversation_id,
        details={"handoff": handoff.pk, "via": "console"},
    )
    return JsonResponse({"packet": handoff_packet(handoff)})
