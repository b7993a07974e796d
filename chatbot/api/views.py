"""REST API v1 endpoints. Thin: parse, check the key's scope, call an action, serialize."""

import uuid

from django.db.models import Count, Exists, OuterRef, Q
from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import generics, serializers, status
from rest_framework.pagination import CursorPagination
from rest_framework.response import Response
from rest_framework.views import APIView

from chatbot import actions
from chatbot.api.errors import Conflict
from chatbot.api.serializers import NODE_KEY as NODE_KEY_PATTERN
from chatbot.api.serializers import (
    ChangeSerializer,
    CloseHandoffSerializer,
    ConversationSerializer,
    EventPageSerializer,
    EventSerializer,
    ExampleSerializer,
    HandoffSerializer,
    IntentSerializer,
    MessageInSerializer,
    MessageOutSerializer,
    NodeChangesSerializer,
    NodeInSerializer,
    NodeSerializer,
    NodeVersionQuery,
    NodeWithRelationsSerializer,
    PromotionSerializer,
    RelationAttributesSerializer,
    RelationInSerializer,
    StartTrainingSerializer,
    StoredRelationSerializer,
    TicketSerializer,
    TrainedModelSerializer,
    TrainingRunSerializer,
)
from chatbot.audit import actions as audit
from chatbot.models import Conversation, Event, Turn
from chatbot.nlu import artefacts, model_reports, promotion
from chatbot.nlu.models import INTENT_NAME_PATTERN, Intent, TrainingExample, TrainingRun
from chatbot.nlu.tasks import start_training
from chatbot.nlu.training_runs import TrainingBusy, queue_training
from handoff import actions as handoff_actions
from handoff import notify
from handoff.models import Handoff, Ticket
from handoff.packet import handoff_packet
from handoff.report import handoff_report
from knowledge import actions as knowledge_actions
from knowledge.models import Change, Node, Relation

MAX_EVENTS = 500
HANDOFF_ID = OpenApiParameter("handoff_id", int, OpenApiParameter.PATH)
TICKET_ID = OpenApiParameter("ticket_id", int, OpenApiParameter.PATH)
CONVERSATION_ID = OpenApiParameter("conversation_id", OpenApiTypes.UUID, OpenApiParameter.PATH)


class CursorPages(CursorPagination):
    """Pages by an opaque cursor (stable while new rows arrive), in each list's order."""

    page_size = 50
    page_size_query_param = "limit"
    max_page_size = 200

    def get_page_size(self, request) -> int:
        # Strict, unlike DRF's default: a bad limit is an error, not silently the default.
        if "limit" not in request.query_params:
            return self.page_size
        limit = LimitQuery(data=_single_values(request.query_params, ["limit"]))
        limit.is_valid(raise_exception=True)
        return limit.validated_data["limit"]

    def get_schema_operation_parameters(self, view) -> list[dict]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == "limit":
                parameter["schema"] = {"type": "integer", "minimum": 1, "maximum": 200}
        return parameters


class LimitQuery(serializers.Serializer):
    limit = serializers.IntegerField(min_value=1, max_value=CursorPages.max_page_size)


def _single_values(params, names) -> dict:
    """The query parameters a serializer reads, each given once and not empty, or a 400."""
    problems = {}
    for name in names:
        values = params.getlist(name)
        if len(values) > 1:
            problems[name] = ["Give this parameter once."]
        elif values == [""]:
            problems[name] = ["This parameter may not be empty."]
    if problems:
        raise serializers.ValidationError(problems)
    return {name: params[name] for name in names if name in params}


def _query(serializer_class, request) -> dict:
    """The request's query parameters, validated strictly by `serializer_class`."""
    query = serializer_class(
        data=_single_values(request.query_params, list(serializer_class().fields))
    )
    query.is_valid(raise_exception=True)
    return query.validated_data


class NewestConversations(CursorPages):
    ordering = "-created_at"


class NewestHandoffs(CursorPages):
    ordering = "-requested_at"


class NewestTickets(CursorPages):
    ordering = "-created_at"


def _uuid_or_404(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise Http404 from None


def _id_or_404(value: str) -> int:
    if not value.isdigit() or len(value) > 18:
        raise Http404
    return int(value)


def _record_transcript_opened(request, conversation_id, **details) -> None:
    """Record that this key read a conversation's words (events, a packet or a ticket)."""
    audit.record(
        audit.TRANSCRIPT_OPENED,
        api_key=request.auth,
        request=request,
        target_type="conversation",
        target_id=conversation_id,
        details={"via": "api", **details},
    )


def record_setting_changed(request, row, change: str, fields=()) -> None:
    """Record that this key added, changed or deleted a setting's row (field names only)."""
    audit.record(
        audit.SETTING_CHANGED,
        api_key=request.auth,
        request=request,
        target_type=f"{row._meta.app_label}.{row._meta.model_name}",
        target_id=row.pk,
        details={"change": change, "fields": sorted(fields), "via": "api"},
    )


def _conversations():
    """Conversations with their visitor (for `customer`) and whether any was handed over."""
    return Conversation.objects.select_related("visitor").annotate(
        has_handoff=Exists(Handoff.objects.filter(conversation=OuterRef("pk")))
    )


# "true" or "false" only: the schema says so, and a typo is an error, not a guess.
YES_OR_NO = [("true", "true"), ("false", "false")]


class ConversationFilters(serializers.Serializer):
    status = serializers.ChoiceField(choices=Conversation.Status.choices, required=False)
    owner = serializers.ChoiceField(choices=Conversation.Owner.choices, required=False)
    intent = serializers.RegexField(
        r"^[A-Za-z0-9_.:-]{1,100}$", required=False, help_text="An intent's name."
    )
    handoff = serializers.ChoiceField(
        choices=YES_OR_NO, required=False, help_text="Whether it was ever handed to a person."
    )
    created_after = serializers.DateTimeField(required=False)
    created_before = serializers.DateTimeField(required=False)


@extend_schema(summary="List conversations", parameters=[ConversationFilters])
class ConversationList(generics.ListAPIView):
    """Conversations, newest first; filter by status, owner, intent, handoff and creation time."""

    required_scopes = {"GET": "conversations:read"}
    serializer_class = ConversationSerializer
    pagination_class = NewestConversations

    def get_queryset(self):
        wanted = _query(ConversationFilters, self.request)
        conversations = _conversations()
        for field in ("status", "owner"):
            if field in wanted:
                conversations = conversations.filter(**{field: wanted[field]})
        if "created_after" in wanted:
            conversations = conversations.filter(created_at__gte=wanted["created_after"])
        if "created_before" in wanted:
            conversations = conversations.filter(created_at__lt=wanted["created_before"])
        if "handoff" in wanted:
            conversations = conversations.filter(has_handoff=wanted["handoff"] == "true")
        if "intent" in wanted:
            # A conversation is about an intent if any of its turns understood it.
            understood = Turn.objects.filter(
                conversation=OuterRef("pk"), understanding__intent=wanted["intent"]
            )
            conversations = conversations.filter(Exists(understood))
        return conversations


@extend_schema(summary="Read a conversation", parameters=[CONVERSATION_ID])
class ConversationDetail(generics.RetrieveAPIView):
    required_scopes = {"GET": "conversations:read"}
    serializer_class = ConversationSerializer

    def get_object(self) -> Conversation:
        return _one_or_404(_conversations(), _uuid_or_404(self.kwargs["conversation_id"]))


class EventQuery(serializers.Serializer):
    after_seq = serializers.IntegerField(min_value=0, max_value=2**31 - 1, default=0)
    limit = serializers.IntegerField(min_value=1, max_value=MAX_EVENTS, default=100)


class ConversationEvents(APIView):
    required_scopes = {"GET": "conversations:read"}

    @extend_schema(
        summary="Read a conversation's events by sequence number",
        parameters=[CONVERSATION_ID, EventQuery],
        responses=EventPageSerializer,
    )
    def get(self, request, conversation_id: str) -> Response:
        query = _query(EventQuery, request)
        conversation_pk = _uuid_or_404(conversation_id)
        if not Conversation.objects.filter(pk=conversation_pk).exists():
            raise Http404
        limit = query["limit"]
        events = list(
            Event.objects.filter(
                conversation_id=conversation_pk, seq__gt=query["after_seq"]
            ).order_by("seq")[: limit + 1]
        )
        more = len(events) > limit
        events = events[:limit]
        _record_transcript_opened(request, conversation_pk, after_seq=query["after_seq"])
        return Response(
            {
                "results": EventSerializer(events, many=True).data,
                "next_after_seq": events[-1].seq if more else None,
            }
        )


class ConversationMessages(APIView):
    required_scopes = {"POST": "conversations:write"}

    @extend_schema(
        summary="Post a message into a conversation (a proactive notice)",
        parameters=[CONVERSATION_ID],
        request=MessageInSerializer,
        responses={201: MessageOutSerializer, 200: MessageOutSerializer},
    )
    def post(self, request, conversation_id: str) -> Response:
        conversation_pk = _uuid_or_404(conversation_id)
        message = MessageInSerializer(data=request.data)
        message.is_valid(raise_exception=True)
        if not Conversation.objects.filter(pk=conversation_pk).exists():
            raise Http404
        try:
            event, duplicate = actions.record_integration_message(
                conversation_pk,
                message.validated_data["client_id"],
                message.validated_data["text"],
                source=f"api:{request.auth.name}",
            )
        except actions.ConversationClosed:
            raise Conflict("The conversation is closed.") from None
        if not duplicate:
            # Every open tab of the visitor, and the agent chatting with them, see it now.
            notify.to_conversation(conversation_pk, event.as_frame())
        return Response(
            {"event": EventSerializer(event).data, "duplicate": duplicate},
            status=status.HTTP_200_OK if duplicate else status.HTTP_201_CREATED,
        )


class HandoffFilters(serializers.Serializer):
    status = serializers.ChoiceField(choices=Handoff.Status.choices, required=False)


@extend_schema(summary="List handoffs", parameters=[HandoffFilters])
class HandoffList(generics.ListAPIView):
    """Handoffs to people, newest first; filter by status."""

    required_scopes = {"GET": "handoffs:read"}
    serializer_class = HandoffSerializer
    pagination_class = NewestHandoffs

    def get_queryset(self):
        wanted = _query(HandoffFilters, self.request)
        handoffs = Handoff.objects.select_related("assigned_to", "skill")
        if "status" in wanted:
            handoffs = handoffs.filter(status=wanted["status"])
        return handoffs


def _handoff_or_404(handoff_id: str) -> Handoff:
    return _one_or_404(
        Handoff.objects.select_related("assigned_to", "skill", "conversation"),
        _id_or_404(handoff_id),
    )


def _one_or_404(rows, pk):
    row = rows.filter(pk=pk).first()
    if row is None:
        raise Http404
    return row


class HandoffDetail(APIView):
    required_scopes = {"GET": "handoffs:read"}

    @extend_schema(
        summary="Read a handoff with its packet (summary, intents, transcript)",
        parameters=[HANDOFF_ID],
        responses=inline_serializer(
            "HandoffWithPacket",
            {"handoff": HandoffSerializer(), "packet": serializers.DictField()},
        ),
    )
    def get(self, request, handoff_id: str) -> Response:
        handoff = _handoff_or_404(handoff_id)
        _record_transcript_opened(request, handoff.conversation_id, handoff=handoff.pk)
        return Response(
            {"handoff": HandoffSerializer(handoff).data, "packet": handoff_packet(handoff)}
        )


class HandoffClose(APIView):
    required_scopes = {"POST": "handoffs:write"}

    @extend_schema(
        summary="Close an open handoff",
        parameters=[HANDOFF_ID],
        request=CloseHandoffSerializer,
        responses=HandoffSerializer,
    )
    def post(self, request, handoff_id: str) -> Response:
        pk = _id_or_404(handoff_id)
        body = CloseHandoffSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            handoff_actions.close_from_integration(pk, body.validated_data["disposition"])
        except handoff_actions.HandoffError as error:
            if error.code == "not_found":
                raise Http404 from None
            raise Conflict(str(error)) from None
        return Response(HandoffSerializer(_handoff_or_404(handoff_id)).data)


class TicketFilters(serializers.Serializer):
    resolved = serializers.ChoiceField(choices=YES_OR_NO, required=False)


@extend_schema(summary="List tickets (messages left for the team)", parameters=[TicketFilters])
class TicketList(generics.ListAPIView):
    required_scopes = {"GET": "handoffs:read"}
    serializer_class = TicketSerializer
    pagination_class = NewestTickets

    def get_queryset(self):
        wanted = _query(TicketFilters, self.request)
        tickets = Ticket.objects.all()
        if "resolved" in wanted:
            tickets = tickets.filter(is_resolved=wanted["resolved"] == "true")
        return tickets


@extend_schema(summary="Read a ticket", parameters=[TICKET_ID])
class TicketDetail(generics.RetrieveAPIView):
    required_scopes = {"GET": "handoffs:read"}
    serializer_class = TicketSerializer

    def get_object(self) -> Ticket:
        ticket = _one_or_404(Ticket.objects, _id_or_404(self.kwargs["ticket_id"]))
        _record_transcript_opened(self.request, ticket.conversation_id, ticket=ticket.pk)
        return ticket


class TicketClose(APIView):
    required_scopes = {"POST": "handoffs:write"}

    @extend_schema(
        summary="Mark a ticket resolved",
        parameters=[TICKET_ID],
        request=None,
        responses=TicketSerializer,
    )
    def post(self, request, ticket_id: str) -> Response:
        try:
            ticket = handoff_actions.resolve_ticket(_id_or_404(ticket_id))
        except handoff_actions.HandoffError:
            raise Http404 from None
        return Response(TicketSerializer(ticket).data)


class HandoffReport(APIView):
    required_scopes = {"GET": "reports:read"}

    @extend_schema(
        summary="The support desk's figures (as the report page charts them)",
        responses=OpenApiTypes.OBJECT,
    )
    def get(self, request) -> Response:
        return Response(handoff_report())


# Intents and trained models -------------------------------------------------------------------

INTENT_NAME = OpenApiParameter(
    "name", OpenApiTypes.STR, OpenApiParameter.PATH, pattern=INTENT_NAME_PATTERN
)
VERSION = OpenApiParameter("version", OpenApiTypes.STR, OpenApiParameter.PATH)


class OldestExamples(CursorPages):
    page_size = 100
    ordering = "id"


class IntentList(APIView):
    required_scopes = {"GET": "intents:read"}

    @extend_schema(summary="List the intents", responses=IntentSerializer(many=True))
    def get(self, request) -> Response:
        intents = Intent.objects.annotate(example_count=Count("examples")).order_by("name")
        return Response(
            [
                {"name": i.name, "description": i.description, "examples": i.example_count}
                for i in intents
            ]
        )


def _intent_or_404(name: str) -> Intent:
    intent = Intent.objects.filter(name=name).first()
    if intent is None:
        raise Http404
    return intent


@extend_schema(parameters=[INTENT_NAME])
class IntentExamples(generics.ListCreateAPIView):
    """An intent's training examples, oldest first; add one (it counts from the next training)."""

    required_scopes = {"GET": "intents:read", "POST": "intents:write"}
    serializer_class = ExampleSerializer
    pagination_class = OldestExamples

    def get_queryset(self):
        return TrainingExample.objects.filter(intent=_intent_or_404(self.kwargs["name"]))

    @extend_schema(summary="Add a training example", responses={201: ExampleSerializer})
    def post(self, request, name: str) -> Response:
        intent = _intent_or_404(name)
        body = ExampleSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        text = body.validated_data["text"]
        if TrainingExample.objects.filter(intent=intent, text=text).exists():
            raise Conflict("The intent has this example already.")
        example = TrainingExample.objects.create(intent=intent, text=text)
        return Response(ExampleSerializer(example).data, status=status.HTTP_201_CREATED)


def _model_row(version: str, promoted: str | None) -> dict:
    metadata = model_reports.read_metadata(version) or {}
    return {
        "version": version,
        "is_promoted": version == promoted,
        "created_at": metadata.get("created_at"),
        "mode": (metadata.get("settings") or {}).get("mode"),
        "summary": model_reports.summary_of(metadata) if metadata else {},
    }


class ModelList(APIView):
    required_scopes = {"GET": "models:read"}

    @extend_schema(
        summary="List the trained intent models, newest first",
        responses=TrainedModelSerializer(many=True),
    )
    def get(self, request) -> Response:
        promoted = artefacts.promoted_version()
        return Response([_model_row(v, promoted) for v in model_reports.stored_versions()])


def _stored_version_or_404(version: str) -> str:
    if version not in model_reports.stored_versions():
        raise Http404
    return version


class ModelDetail(APIView):
    required_scopes = {"GET": "models:read"}

    @extend_schema(
        summary="Read a trained model's figures",
        parameters=[VERSION],
        responses=TrainedModelSerializer,
    )
    def get(self, request, version: str) -> Response:
        return Response(_model_row(_stored_version_or_404(version), artefacts.promoted_version()))


class ModelPromote(APIView):
    required_scopes = {"POST": "models:write"}

    @extend_schema(
        summary="Serve this model from now on",
        parameters=[VERSION],
        request=None,
        responses=PromotionSerializer,
    )
    def post(self, request, version: str) -> Response:
        promotion.promote(_stored_version_or_404(version))
        _record_model_change(request, "promoted")
        return Response(_promotion())


class ModelRollback(APIView):
    required_scopes = {"POST": "models:write"}

    @extend_schema(
        summary="Serve again the model the current one replaced",
        request=None,
        responses=PromotionSerializer,
    )
    def post(self, request) -> Response:
        try:
            promotion.roll_back()
        except FileNotFoundError:
            raise Conflict("No earlier promoted model to go back to.") from None
        _record_model_change(request, "rolled_back")
        return Response(_promotion())


def _record_model_change(request, change: str) -> None:
    audit.record(
        audit.SETTING_CHANGED,
        api_key=request.auth,
        request=request,
        target_type="intent_model",
        target_id=artefacts.promoted_version() or "",
        details={"change": change, "previous": artefacts.previous_version(), "via": "api"},
    )


def _promotion() -> dict:
    return {"promoted": artefacts.promoted_version(), "previous": artefacts.previous_version()}


class NewestRuns(CursorPages):
    ordering = "-created_at"


RUN_ID = OpenApiParameter("run_id", int, OpenApiParameter.PATH)


@extend_schema(summary="List training runs, newest first")
class TrainingRunList(generics.ListAPIView):
    required_scopes = {"GET": "models:read", "POST": "models:write"}
    serializer_class = TrainingRunSerializer
    pagination_class = NewestRuns
    queryset = TrainingRun.objects.all()

    @extend_schema(
        summary="Start a training on the stored examples (one at a time)",
        request=StartTrainingSerializer,
        responses={202: TrainingRunSerializer},
    )
    def post(self, request) -> Response:
        body = StartTrainingSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            run = queue_training(body.validated_data["mode"], f"api:{request.auth.name}")
        except TrainingBusy as busy:
            raise Conflict(f"Training run {busy.run.pk} is {busy.run.status}.") from None
        start_training(run.pk)
        return Response(TrainingRunSerializer(run).data, status=status.HTTP_202_ACCEPTED)


@extend_schema(summary="Read a training run", parameters=[RUN_ID])
class TrainingRunDetail(generics.RetrieveAPIView):
    required_scopes = {"GET": "models:read"}
    serializer_class = TrainingRunSerializer

    def get_object(self) -> TrainingRun:
        return _one_or_404(TrainingRun.objects, _id_or_404(self.kwargs["run_id"]))


# The knowledge graph: read, and changed through the knowledge actions (checked and logged) ----


class NodeFilters(serializers.Serializer):
    q = serializers.CharField(
        max_length=200, required=False, help_text="Text in the key, label or aliases."
    )
    type = serializers.RegexField(r"^[A-Za-z0-9_.-]{1,50}$", required=False)


class NodesByKey(CursorPages):
    ordering = "key"


def _changed_by(request) -> str:
    """How the change history names a change made with this request's key."""
    return f"API key: {request.auth.name}"


NODE_KEY = OpenApiParameter("key", OpenApiTypes.STR, OpenApiParameter.PATH)
RELATION_ID = OpenApiParameter("relation_id", int, OpenApiParameter.PATH)


@extend_schema_view(
    get=extend_schema(summary="List the knowledge graph's nodes", parameters=[NodeFilters])
)
class NodeList(generics.ListAPIView):
    """Nodes in key order; filter by type, or by text in the key, label or aliases."""

    required_scopes = {"GET": "knowledge:read", "POST": "knowledge:write"}
    serializer_class = NodeSerializer
    pagination_class = NodesByKey

    def get_queryset(self):
        wanted = _query(NodeFilters, self.request)
        nodes = Node.objects.all()
        if "type" in wanted:
            nodes = nodes.filter(type=wanted["type"])
        if wanted.get("q"):
            text = wanted["q"]
            nodes = nodes.filter(
                Q(label__icontains=text) | Q(key__icontains=text) | Q(aliases__icontains=text)
            )
        return nodes

    @extend_schema(
        summary="Add a node",
        request=NodeInSerializer,
        responses={201: NodeSerializer},
    )
    def post(self, request) -> Response:
        body = NodeInSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        node = knowledge_actions.create_node(body.validated_data, via=_changed_by(request))
        return Response(NodeSerializer(node).data, status=status.HTTP_201_CREATED)


class NodeDetail(APIView):
    required_scopes = {
        "GET": "knowledge:read",
        "PATCH": "knowledge:write",
        "DELETE": "knowledge:write",
    }

    @extend_schema(
        summary="Read a node with its relations",
        parameters=[NODE_KEY],
        responses=NodeWithRelationsSerializer,
    )
    def get(self, request, key: str) -> Response:
        node = Node.objects.filter(key=key).first()
        if node is None:
            raise Http404
        outgoing = node.outgoing.select_related("target").order_by("type", "target__key")
        incoming = node.incoming.select_related("source").order_by("type", "source__key")
        return Response(
            {
                "node": NodeSerializer(node).data,
                "outgoing": [
                    {"id": r.id, "type": r.type, "node": r.target.key, "attributes": r.attributes}
                    for r in outgoing
                ],
                "incoming": [
                    {"id": r.id, "type": r.type, "node": r.source.key, "attributes": r.attributes}
                    for r in incoming
                ],
            }
        )

    @extend_schema(
        summary="Change some of a node's fields",
        description="Give the version you read: if someone saved the node since, nothing is "
        "changed and the 409's details hold the node as stored now.",
        parameters=[NODE_KEY],
        request=NodeChangesSerializer,
        responses=NodeSerializer,
    )
    def patch(self, request, key: str) -> Response:
        body = NodeChangesSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        changes = dict(body.validated_data)
        version = changes.pop("version")
        node = knowledge_actions.update_node(key, changes, version, via=_changed_by(request))
        return Response(NodeSerializer(node).data)

    @extend_schema(
        summary="Remove a node and its relations",
        description="Refused (409) while another node's answers quote it, or if it was saved "
        "since the version you read.",
        parameters=[NODE_KEY, NodeVersionQuery],
        responses={204: None},
    )
    def delete(self, request, key: str) -> Response:
        version = _query(NodeVersionQuery, request)["version"]
        knowledge_actions.delete_node(key, version, via=_changed_by(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


def _relation_row(relation: Relation) -> dict:
    return {"id": relation.id, **relation.snapshot()}


class RelationList(APIView):
    required_scopes = {"POST": "knowledge:write"}

    @extend_schema(
        summary="Relate two nodes",
        request=RelationInSerializer,
        responses={201: StoredRelationSerializer},
    )
    def post(self, request) -> Response:
        body = RelationInSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        relation = knowledge_actions.add_relation(body.validated_data, via=_changed_by(request))
        return Response(_relation_row(relation), status=status.HTTP_201_CREATED)


class RelationDetail(APIView):
    required_scopes = {"PATCH": "knowledge:write", "DELETE": "knowledge:write"}

    @extend_schema(
        summary="Replace a relation's attributes",
        parameters=[RELATION_ID],
        request=RelationAttributesSerializer,
        responses=StoredRelationSerializer,
    )
    def patch(self, request, relation_id: str) -> Response:
        body = RelationAttributesSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        relation = knowledge_actions.update_relation(
            _id_or_404(relation_id), body.validated_data["attributes"], via=_changed_by(request)
        )
        return Response(_relation_row(relation))

    @extend_schema(summary="Remove a relation", parameters=[RELATION_ID], responses={204: None})
    def delete(self, request, relation_id: str) -> Response:
        knowledge_actions.remove_relation(_id_or_404(relation_id), via=_changed_by(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class ChangeFilters(serializers.Serializer):
    node = serializers.RegexField(
        NODE_KEY_PATTERN, max_length=100, required=False, help_text="Changes concerning this node."
    )


class NewestChanges(CursorPages):
    ordering = "-id"


@extend_schema(summary="The graph's change history, newest first", parameters=[ChangeFilters])
class ChangeList(generics.ListAPIView):
    """Every change to the graph: who made it (an editor, or an API key), before and after."""

    required_scopes = {"GET": "knowledge:read"}
    serializer_class = ChangeSerializer
    pagination_class = NewestChanges

    def get_queryset(self):
        wanted = _query(ChangeFilters, self.request)
        changes = Change.objects.select_related("user")
        if "node" in wanted:
            changes = changes.filter(concerns__contains=f" {wanted['node']} ")
        return changes
