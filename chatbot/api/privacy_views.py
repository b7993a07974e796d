"""REST API v1: one person's data, exported or erased (scopes privacy:export, privacy:erase).

A person is a visitor by id, or an identified customer by the company's own user id.
"""

from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from chatbot.models import Visitor
from chatbot.privacy import actions, subjects

VISITOR_ID = OpenApiParameter("visitor_id", OpenApiTypes.UUID, OpenApiParameter.PATH)
EXTERNAL_ID = OpenApiParameter(
    "external_id",
    OpenApiTypes.STR,
    OpenApiParameter.PATH,
    description="The customer's user id, as the company's website signed it (URL-encoded).",
)
EXPORT = inline_serializer(
    "PersonalDataExport",
    {
        "format": serializers.CharField(),
        "exported_at": serializers.DateTimeField(),
        "visitor": serializers.DictField(),
        "conversations": serializers.ListField(child=serializers.DictField()),
    },
)
ERASURE = inline_serializer(
    "PersonalDataErasure",
    {
        "erased": serializers.BooleanField(),
        "already_erased": serializers.BooleanField(
            help_text="Erased by an earlier request: nothing was left to remove."
        ),
        "counts": serializers.DictField(
            child=serializers.IntegerField(), help_text="Rows removed, by kind."
        ),
    },
)


class SubjectView(APIView):
    """A person named in the URL: `kind` says how."""

    kind = subjects.VISITOR

    def key(self) -> str:
        return self.kwargs["visitor_id" if self.kind == subjects.VISITOR else "external_id"]

    def visitor(self) -> Visitor | None:
        return subjects.find_visitor(self.kind, self.key())


class SubjectExport(SubjectView):
    required_scopes = {"GET": "privacy:export"}

    def get(self, request, **kwargs) -> Response:
        visitor = self.visitor()
        if visitor is None:
            raise Http404
        return Response(actions.export_subject(visitor, api_key=request.auth, request=request))


class SubjectErase(SubjectView):
    required_scopes = {"POST": "privacy:erase"}

    def post(self, request, **kwargs) -> Response:
        visitor = self.visitor()
        if visitor is None:
            if not subjects.was_erased(self.kind, self.key()):
                raise Http404
            return Response({"erased": True, "already_erased": True, "counts": {}})
        counts = actions.erase_subject(visitor, api_key=request.auth, request=request)
        return Response({"erased": True, "already_erased": False, "counts": counts})


EXPORT_DESCRIPTION = (
    "Everything stored about the person, as JSON: their details, and each conversation with "
    "its events, turns, handoffs (with agents' notes), tickets and ratings. Recorded in the "
    "audit trail."
)
ERASE_DESCRIPTION = (
    "Delete the person's details and conversations, with every copy of their content (webhook "
    "payloads included), in one transaction; their open sockets are closed and agents' consoles "
    "drop the conversations. The audit trail keeps ids and counts only. Asking again answers "
    "200 with `already_erased`."
)


class VisitorExport(SubjectExport):
    @extend_schema(
        summary="Export a visitor's data",
        description=EXPORT_DESCRIPTION,
        parameters=[VISITOR_ID],
        responses=EXPORT,
    )
    def get(self, request, **kwargs) -> Response:
        return super().get(request, **kwargs)


class VisitorErase(SubjectErase):
    @extend_schema(
        summary="Erase a visitor's data",
        description=ERASE_DESCRIPTION,
        parameters=[VISITOR_ID],
        request=None,
        responses=ERASURE,
    )
    def post(self, request, **kwargs) -> Response:
        return super().post(request, **kwargs)


class CustomerExport(SubjectExport):
    kind = subjects.CUSTOMER

    @extend_schema(
        summary="Export an identified customer's data",
        description=EXPORT_DESCRIPTION,
        parameters=[EXTERNAL_ID],
        responses=EXPORT,
    )
    def get(self, request, **kwargs) -> Response:
        return super().get(request, **kwargs)


class CustomerErase(SubjectErase):
    kind = subjects.CUSTOMER

    @extend_schema(
        summary="Erase an identified customer's data",
        description=ERASE_DESCRIPTION,
        parameters=[EXTERNAL_ID],
        request=None,
        responses=ERASURE,
    )
    def post(self, request, **kwargs) -> Response:
        return super().post(request, **kwargs)
