"""What the webhooks endpoints accept and return."""

from django.conf import settings
from rest_framework import serializers

from chatbot.api.serializers import StrictRegexField
from chatbot.webhooks.addresses import UnsafeUrl, check_literal_host
from chatbot.webhooks.events import EVENT_TYPES
from chatbot.webhooks.models import Delivery, DeliveryAttempt, Subscription

# http(s), a host name or IPv4 address, an optional port, then visible ASCII (encoded URLs).
URL_PATTERN = (
    r"^https?://[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*"
    r"(?::(?:6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[1-9][0-9]{0,3}))?"
    r"(?:[/?#][!-~]*)?$"
)
NAME_PATTERN = r"^\w[\w .,:;@()/'&+#-]{0,99}$"
# Plain addresses (no quoted local parts), a letters-only top-level domain.
EMAIL_PATTERN = (
    r"^[A-Za-z0-9_%+-]+(?:\.[A-Za-z0-9_%+-]+)*"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$"
)


class StrictBoolean(serializers.BooleanField):
    """true or false; not 0, 1 or "yes"."""

    def to_internal_value(self, data) -> bool:
        if not isinstance(data, bool):
            raise serializers.ValidationError("Must be true or false.")
        return data


class SubscriptionSerializer(serializers.ModelSerializer):
    name = StrictRegexField(
        NAME_PATTERN, max_length=100, trim_whitespace=False, help_text="Who receives the events."
    )
    url = StrictRegexField(
        URL_PATTERN,
        max_length=2000,
        error_messages={"invalid": "Enter an http:// or https:// URL."},
        help_text="Where events are POSTed; http(s), on a public address in production.",
    )
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=list(EVENT_TYPES)),
        min_length=1,
        max_length=len(EVENT_TYPES),
        help_text="The event types sent to this URL.",
    )
    owner_email = StrictRegexField(
        EMAIL_PATTERN, max_length=254, help_text="Told by email if deliveries are paused."
    )
    is_active = StrictBoolean(
        required=False,
        help_text="False pauses deliveries (events are kept); true resumes them, in order.",
    )

    class Meta:
        model = Subscription
        fields = [
            "id",
            "name",
            "url",
            "events",
            "owner_email",
            "is_active",
            "paused_at",
            "pause_reason",
            "created_at",
        ]
        read_only_fields = ["paused_at", "pause_reason", "created_at"]

    def validate_url(self, url: str) -> str:
        try:
            check_literal_host(url, settings.WEBHOOK_ALLOW_PRIVATE_URLS)
        except UnsafeUrl as error:
            raise serializers.ValidationError(str(error)) from None
        return url

    def validate_events(self, events: list[str]) -> list[str]:
        return list(dict.fromkeys(events))  # each once, in the order given


class NewSubscriptionSerializer(SubscriptionSerializer):
    secret = serializers.CharField(
        read_only=True,
        help_text="Signs every delivery (Webhook-Signature). Returned now only: keep it.",
    )

    class Meta(SubscriptionSerializer.Meta):
        fields = [*SubscriptionSerializer.Meta.fields, "secret"]


class AttemptSerializer(serializers.ModelSerializer):
    class Meta:
        model = DeliveryAttempt
        fields = [
            "attempted_at",
            "is_success",
            "status_code",
            "error",
            "duration_ms",
            "response_excerpt",
        ]


class DeliverySerializer(serializers.ModelSerializer):
    event_type = serializers.CharField(source="event.type")
    ordering_key = serializers.CharField(source="event.ordering_key")
    data = serializers.JSONField(source="event.data")
    attempts = AttemptSerializer(many=True)

    class Meta:
        model = Delivery
        fields = [
            "id",
            "event_type",
            "ordering_key",
            "sequence",
            "status",
            "attempt_count",
            "next_attempt_at",
            "delivered_at",
            "created_at",
            "data",
            "attempts",
        ]


class SubscriptionChangeSerializer(SubscriptionSerializer):
    """A change to a subscription: any of its writable fields, each optional."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.required = False
