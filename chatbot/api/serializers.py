"""What the API returns and accepts; the OpenAPI schema is generated from these."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from chatbot.models import Conversation, Event
from chatbot.nlu.models import MAX_EXAMPLE_CHARS, TrainingRun
from chatbot.visible_text import has_visible_text
from handoff.models import Handoff, Ticket
from knowledge import validation as knowledge_rules
from knowledge.models import Change, Node

DISPOSITIONS = ("resolved", "unresolved", "escalated", "spam")


class CustomerSerializer(serializers.Serializer):
    user_id = serializers.CharField()
    name = serializers.CharField(allow_blank=True)
    email = serializers.CharField(allow_blank=True)


class ConversationSerializer(serializers.ModelSerializer):
    customer = serializers.SerializerMethodField(
        help_text="Who the company's website signed the visitor in as; null when anonymous."
    )
    active_intent = serializers.SerializerMethodField(
        help_text="The intent the conversation is about now, if any."
    )
    has_handoff = serializers.BooleanField(read_only=True)

    class Meta:
        model = Conversation
        fields = [
            "id",
            "status",
            "owner",
            "created_at",
            "updated_at",
            "last_seq",
            "active_intent",
            "has_handoff",
            "customer",
        ]

    def get_customer(self, conversation: Conversation) -> CustomerSerializer(allow_null=True):
        return conversation.visitor.identity()

    def get_active_intent(self, conversation: Conversation) -> str | None:
        return (conversation.state or {}).get("active_intent")


class EventSerializer(serializers.ModelSerializer):
    class Meta:
        model = Event
        fields = ["seq", "kind", "author", "text", "client_id", "data", "created_at"]


class EventPageSerializer(serializers.Serializer):
    results = EventSerializer(many=True)
    next_after_seq = serializers.IntegerField(
        allow_null=True, help_text="Pass as after_seq for the next events; null at the end."
    )


@extend_schema_field({"type": "string", "maxLength": 2000, "pattern": r"^[^\u0000]*\S[^\u0000]*$"})
class VisibleText(serializers.CharField):
    """Text a visitor can see: not blank, no NUL, not only invisible characters."""

    def to_internal_value(self, data) -> str:
        if not isinstance(data, str):
            raise serializers.ValidationError("Must be a string.")
        text = super().to_internal_value(data)
        if not has_visible_text(text):
            raise serializers.ValidationError("The text must hold something visible.")
        return text


class StrictRegexField(serializers.RegexField):
    """A string matching the pattern; a number is not silently turned into one."""

    def to_internal_value(self, data) -> str:
        if not isinstance(data, str):
            raise serializers.ValidationError("Must be a string.")
        return super().to_internal_value(data)


class MessageInSerializer(serializers.Serializer):
    text = VisibleText(max_length=2000, trim_whitespace=True)
    client_id = StrictRegexField(
        r"^[A-Za-z0-9._:-]{1,40}$",
        help_text="Your id for this message: sending it again stores it once.",
    )


class MessageOutSerializer(serializers.Serializer):
    event = EventSerializer()
    duplicate = serializers.BooleanField()


class HandoffSerializer(serializers.ModelSerializer):
    conversation_id = serializers.UUIDField(read_only=True)
    assigned_to = serializers.CharField(
        source="assigned_to.display_name", default=None, read_only=True, allow_null=True
    )
    skill = serializers.CharField(
        source="skill.name", default=None, read_only=True, allow_null=True
    )

    class Meta:
        model = Handoff
        fields = [
            "id",
            "conversation_id",
            "status",
            "reason",
            "intent",
            "skill",
            "assigned_to",
            "requested_at",
            "accepted_at",
            "ended_at",
            "disposition",
        ]


class CloseHandoffSerializer(serializers.Serializer):
    disposition = serializers.ChoiceField(choices=DISPOSITIONS, default="resolved")


class TicketSerializer(serializers.ModelSerializer):
    conversation_id = serializers.UUIDField(read_only=True)

    class Meta:
        model = Ticket
        fields = ["id", "conversation_id", "text", "contact", "created_at", "is_resolved"]


class IntentSerializer(serializers.Serializer):
    name = serializers.CharField()
    description = serializers.CharField(allow_blank=True)
    examples = serializers.IntegerField(help_text="How many training examples it has.")


class ExampleSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    text = VisibleText(max_length=MAX_EXAMPLE_CHARS, trim_whitespace=True)
    created_at = serializers.DateTimeField(read_only=True)


class TrainedModelSerializer(serializers.Serializer):
    version = serializers.CharField()
    is_promoted = serializers.BooleanField()
    created_at = serializers.CharField(allow_null=True)
    mode = serializers.CharField(allow_null=True)
    summary = serializers.DictField(
        help_text="Validation figures: top-1 accuracy, coverage, accepted accuracy, macro-F1."
    )


class PromotionSerializer(serializers.Serializer):
    promoted = serializers.CharField(help_text="The version served now.")
    previous = serializers.CharField(
        allow_null=True, help_text="The version a rollback would serve again."
    )


class TrainingRunSerializer(serializers.ModelSerializer):
    class Meta:
        model = TrainingRun
        fields = [
            "id",
            "status",
            "mode",
            "requested_by",
            "created_at",
            "started_at",
            "finished_at",
            "version",
            "is_promoted",
            "summary",
            "error",
        ]


class StartTrainingSerializer(serializers.Serializer):
    mode = serializers.ChoiceField(
        choices=TrainingRun.Mode.choices,
        default=TrainingRun.Mode.FAST,
        help_text="fast: a new head on the encoder (a minute or two); finetune: the encoder too.",
    )


class NodeSerializer(serializers.ModelSerializer):
    class Meta:
        model = Node
        fields = [
            "key",
            "type",
            "label",
            "aliases",
            "attributes",
            "answers",
            "version",
            "updated_at",
        ]


class RelationSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    type = serializers.CharField()
    node = serializers.CharField(help_text="The node at the relation's other end.")
    attributes = serializers.DictField()


class NodeWithRelationsSerializer(serializers.Serializer):
    node = NodeSerializer()
    outgoing = RelationSerializer(many=True)
    incoming = RelationSerializer(many=True)


# Writing the graph. The fields mirror knowledge.validation's rules so that the schema tells a
# client what a well-formed node is; the knowledge actions still check everything, and refuse
# what the stored graph does not allow (a name taken, a node missing) with a 409.
NODE_KEY = r"^[a-z0-9_]+(:[a-z0-9_]+)?$"
IDENTIFIER = r"^[a-z][a-z0-9_]*$"
# Not blank: some character that is not white space, as knowledge.validation.check_text asks.
SOME_TEXT = r"^[^\u0000]*\S[^\u0000]*$"


def _text_schema(longest: int) -> dict:
    return {"type": "string", "minLength": 1, "maxLength": longest, "pattern": SOME_TEXT}


class KnowledgeText(serializers.CharField):
    """Text in a node: not blank (white space is trimmed), no NUL; the schema says the same."""

    def to_internal_value(self, data) -> str:
        if not isinstance(data, str):
            raise serializers.ValidationError("Must be a string.")
        return super().to_internal_value(data)


@extend_schema_field(_text_schema(knowledge_rules.MAX_LABEL))
class NodeLabel(KnowledgeText):
    """A node's label."""


@extend_schema_field(_text_schema(knowledge_rules.MAX_ALIAS))
class NodeAlias(KnowledgeText):
    """Another name customers use for the node."""


@extend_schema_field(_text_schema(knowledge_rules.MAX_ANSWER))
class NodeAnswer(KnowledgeText):
    """A sentence the bot may answer with; {key.attribute} quotes an attribute."""


_SCALAR = [
    {"type": "string", "maxLength": knowledge_rules.MAX_TEXT_VALUE},
    {"type": "number"},
    {"type": "boolean"},
]


@extend_schema_field(
    {
        "type": "object",
        "maxProperties": knowledge_rules.MAX_ATTRIBUTES,
        "propertyNames": {"pattern": IDENTIFIER},
        "additionalProperties": {
            "oneOf": [*_SCALAR, {"type": "array", "items": {"oneOf": _SCALAR}}]
        },
        "description": "Facts about the node, named by lower-case identifiers: text, numbers, "
        "true/false, or lists of those.",
    }
)
class Attributes(serializers.JSONField):
    """A node's or relation's attributes; knowledge.validation checks names and values."""

    def to_internal_value(self, data) -> dict:
        if not isinstance(data, dict):
            raise serializers.ValidationError("Must be an object of names and values.")
        return data


class NodeInSerializer(serializers.Serializer):
    key = StrictRegexField(NODE_KEY, max_length=knowledge_rules.MAX_KEY)
    type = StrictRegexField(IDENTIFIER, max_length=knowledge_rules.MAX_TYPE)
    label = NodeLabel(max_length=knowledge_rules.MAX_LABEL)
    aliases = serializers.ListField(
        child=NodeAlias(max_length=knowledge_rules.MAX_ALIAS),
        max_length=knowledge_rules.MAX_ALIASES,
        required=False,
    )
    attributes = Attributes(required=False)
    answers = serializers.ListField(
        child=NodeAnswer(max_length=knowledge_rules.MAX_ANSWER),
        max_length=knowledge_rules.MAX_ANSWERS,
        required=False,
    )


class NodeChangesSerializer(NodeInSerializer):
    key = None  # a node's key never changes
    version = serializers.IntegerField(
        help_text="The node's version you read: a node saved since then is a 409, not overwritten."
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for name, field in self.fields.items():
            field.required = name == "version"


class NodeVersionQuery(serializers.Serializer):
    version = serializers.IntegerField(help_text="The node's version you read.")


class RelationInSerializer(serializers.Serializer):
    source = StrictRegexField(NODE_KEY, max_length=knowledge_rules.MAX_KEY)
    type = StrictRegexField(IDENTIFIER, max_length=knowledge_rules.MAX_TYPE)
    target = StrictRegexField(NODE_KEY, max_length=knowledge_rules.MAX_KEY)
    attributes = Attributes(required=False)


class RelationAttributesSerializer(serializers.Serializer):
    attributes = Attributes()


class StoredRelationSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    source = serializers.CharField()
    type = serializers.CharField()
    target = serializers.CharField()
    attributes = serializers.DictField()


@extend_schema_field({"type": ["object", "null"]})
class Snapshot(serializers.JSONField):
    """A node or relation as it was before or after a change; null where it did not exist."""


class ChangeSerializer(serializers.ModelSerializer):
    before = Snapshot()
    after = Snapshot()
    user = serializers.CharField(source="user.get_username", default=None, allow_null=True)
    reverts = serializers.IntegerField(source="reverts_id", allow_null=True)

    class Meta:
        model = Change
        fields = [
            "id",
            "at",
            "user",
            "via",
            "action",
            "subject",
            "target",
            "before",
            "after",
            "graph_version",
            "reverts",
        ]
