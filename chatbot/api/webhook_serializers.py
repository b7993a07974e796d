"""What the webhooks endpoints accept and return."""

from django.conf import settings
from django.core.validators import RegexValidator
from rest_framework import serializers

from chatbot.webhooks.addresses import UnsafeUrl, check_literal_host
from chatbot.webhooks.events import EVENT_TYPES
from chatbot.webhooks.models import Delivery, DeliveryAttempt, Subscription


class SubscriptionSerializer(serializers.ModelSerializer):
    url = serializers.URLField(
        max_length=2000,
        validators=[RegexValidator(r"^https?://", "Only http:// and https:// URLs.")],
        help_text="Where events are POSTed; http(s), on a public address in production.",
    )
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=list(EVENT_TYPES)),
        min_length=1,
        max_length=len(EVENT_TYPES),
        help_text="The event types sent to this URL.",
    )
    owner_email = serializers.EmailField(help_text="Told by email if deliveries are paused.")
    is_active = serializers.BooleanField(
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
        if len(set(events)) != len(events):
            raise serializers.ValidationError("Name each event once.")
        return events


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
