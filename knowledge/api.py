"""The knowledge editor's JSON API: thin views over the graph service and the write actions.

Every view needs a logged-in user with the edit_knowledge permission; writes need the CSRF token.
"""

from __future__ import annotations

import functools
import json

from django.db.models import Q
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.http import require_http_methods

from knowledge import actions
from knowledge.graph import UnknownNode
from knowledge.models import Change, Node, Relation
from knowledge.roles import can_edit_knowledge
from knowledge.service import current_graph
from knowledge.validation import InvalidKnowledge, Problem

SEARCH_LIMIT = 50
NEIGHBOURHOOD_LIMIT = 200
HISTORY_LIMIT = 100


def editors_only(view):
    """Answer 403 in JSON to anyone who may not edit the knowledge graph."""

    @functools.wraps(view)
    def checked(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not can_edit_knowledge(request.user):
            if not request.user.is_authenticated:
                reason, message = "login_required", "log in first"
            else:
                reason, message = "not_an_editor", "editors only"
            return JsonResponse(
                {"error": "forbidden", "reason": reason, "message": message}, status=403
            )
        try:
            return view(request, *args, **kwargs)
        except InvalidKnowledge as error:
            problems = [problem.as_dict() for problem in error.problems]
            return JsonResponse({"error": "invalid", "problems": problems}, status=400)
        except actions.Conflict as error:
            return JsonResponse(
                {"error": "conflict", "message": str(error), "current": error.current}, status=409
            )
        except (actions.NotFound, UnknownNode) as error:
            return JsonResponse({"error": "not_found", "message": str(error)}, status=404)

    return checked


def json_body(request: HttpRequest) -> dict:
    """Return the request's JSON object, or raise InvalidKnowledge saying what is wrong."""
    try:
        data = json.loads(request.body or b"{}")
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise InvalidKnowledge([Problem("", "the body must be a JSON object")]) from None
    except RecursionError:
        # The parser recurses once per level: a body nested thousands deep is refused, not a 500.
        raise InvalidKnowledge(
            [Problem("", "the body nests arrays or objects too deeply")]
        ) from None
    if not isinstance(data, dict):
        raise InvalidKnowledge([Problem("", "the body must be a JSON object")])
    return data


@require_http_methods(["GET", "POST"])
@editors_only
def nodes(request: HttpRequest) -> JsonResponse:
    if request.method == "POST":
        node = actions.create_node(json_body(request), request.user)
        return JsonResponse({"node": actions.node_as_dict(node)}, status=201)
    return JsonResponse({"nodes": search_nodes(request.GET)})


def search_nodes(query) -> list[dict]:
    """Return nodes whose key, label or aliases contain the text; names starting with it first."""
    text = query.get("q", "").strip()
    limit = min(_int(query.get("limit"), 20), SEARCH_LIMIT)
    found = Node.objects.all()
    if query.get("type"):
        found = found.filter(type=query["type"])
    if text:
        found = found.filter(
            Q(label__icontains=text) | Q(key__icontains=text) | Q(aliases__icontains=text)
        )
    rows = found.values("key", "type", "label", "aliases")[: limit * 4]
    lowered = text.lower()
    ranked = sorted(
        rows,
        key=lambda row: (
            not row["label"].lower().startswith(lowered),
            lowered not in row["label"].lower(),
            row["label"].lower(),
        ),
    )
    return ranked[:limit]


@require_http_methods(["GET", "PATCH", "DELETE"])
@editors_only
def node(request: HttpRequest, key: str) -> HttpResponse:
    if request.method == "PATCH":
        changes = json_body(request)
        expected_version = changes.pop("version", None)
        if not isinstance(expected_version, int):
            raise InvalidKnowledge([Problem("version", "give the version you edited, a number")])
        updated = actions.update_node(key, changes, expected_version, request.user)
        return JsonResponse({"node": actions.node_as_dict(updated)})
    if request.method == "DELETE":
        actions.delete_node(key, _int(request.GET.get("version"), None), request.user)
        return HttpResponse(status=204)
    stored = Node.objects.filter(key=key).first()
    if stored is None:
        raise actions.NotFound(f"no node {key!r}")
    return JsonResponse(
        {
            "node": actions.node_as_dict(stored),
            "outgoing": [
                {**_relation_summary(relation), "target": _node_summary(relation.target)}
                for relation in stored.outgoing.select_related("target").order_by(
                    "type", "target__key"
                )
            ],
            "incoming": [
                {**_relation_summary(relation), "source": _node_summary(relation.source)}
                for relation in stored.incoming.select_related("source").order_by(
                    "type", "source__key"
                )
            ],
        }
    )


@require_http_methods(["GET"])
@editors_only
def neighbourhood(request: HttpRequest, key: str) -> JsonResponse:
    hops = max(1, min(_int(request.GET.get("hops"), 1), 3))
    subgraph = current_graph().subgraph(key, hops=hops, limit=NEIGHBOURHOOD_LIMIT)
    return JsonResponse(
        {
            "nodes": [{"key": n.key, "label": n.label, "type": n.type} for n in subgraph.nodes],
            "relations": [
                {"id": r.id, "source": r.source, "type": r.type, "target": r.target}
                for r in subgraph.relations
            ],
            "truncated": subgraph.is_truncated,
        }
    )


@require_http_methods(["POST"])
@editors_only
def relations(request: HttpRequest) -> JsonResponse:
    relation = actions.add_relation(json_body(request), request.user)
    return JsonResponse({"relation": {"id": relation.id, **relation.snapshot()}}, status=201)


@require_http_methods(["DELETE", "PATCH"])
@editors_only
def relation(request: HttpRequest, relation_id: int) -> HttpResponse:
    if request.method == "PATCH":
        attributes = json_body(request).get("attributes")
        updated = actions.update_relation(relation_id, attributes, request.user)
        return JsonResponse({"relation": {"id": updated.id, **updated.snapshot()}})
    actions.remove_relation(relation_id, request.user)
    return HttpResponse(status=204)


@require_http_methods(["GET"])
@editors_only
def relation_types(request: HttpRequest) -> JsonResponse:
    types = Relation.objects.order_by("type").values_list("type", flat=True).distinct()
    return JsonResponse({"types": list(types)})


@require_http_methods(["GET"])
@editors_only
def changes(request: HttpRequest) -> JsonResponse:
    found = Change.objects.select_related("user").prefetch_related("reverted_by")
    if request.GET.get("node"):
        found = found.filter(concerns__contains=f" {request.GET['node']} ")
    return JsonResponse({"changes": [_change(change) for change in found[:HISTORY_LIMIT]]})


@require_http_methods(["POST"])
@editors_only
def revert(request: HttpRequest, change_id: int) -> JsonResponse:
    change = actions.revert_change(change_id, request.user)
    return JsonResponse({"change": _change(change)}, status=201)


def _change(change: Change) -> dict:
    return {
        "id": change.id,
        "at": change.at.isoformat(),
        "user": change.user.get_username() if change.user else None,
        "via": change.via,
        "action": change.action,
        "subject": change.subject,
        "target": change.target,
        "summary": _summary(change),
        "before": change.before,
        "after": change.after,
        "reverts": change.reverts_id,
        "reverted_by": [later.id for later in change.reverted_by.all()],
    }


def _summary(change: Change) -> str:
    if change.action != Change.Action.UPDATE:
        return f"{change.action}d {change.subject} {change.target}"
    fields = sorted(
        name
        for name in (change.before or {}).keys() | (change.after or {}).keys()
        if (change.before or {}).get(name) != (change.after or {}).get(name)
    )
    return f"changed {', '.join(fields)} of {change.target}"


def _node_summary(node: Node) -> dict:
    return {"key": node.key, "label": node.label, "type": node.type}


def _relation_summary(relation: Relation) -> dict:
    return {"id": relation.id, "type": relation.type, "attributes": relation.attributes}


def _int(value: str | None, default: int | None) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default
