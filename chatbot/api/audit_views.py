"""REST API v1: the audit trail, read and filtered (scope audit:read); it cannot be written."""

from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers

from chatbot.api.views import CursorPages, _query
from chatbot.audit.models import AuditEntry


class AuditEntrySerializer(serializers.ModelSerializer):
    class Meta:
        model = AuditEntry
        fields = [
            "id",
            "at",
            "actor_kind",
            "actor_id",
            "actor_name",
            "action",
            "target_type",
            "target_id",
            "ip_address",
            "request_id",
            "details",
        ]


class AuditFilters(serializers.Serializer):
    action = serializers.RegexField(r"^[a-z_]{1,64}$", required=False)
    actor_kind = serializers.ChoiceField(choices=AuditEntry.ACTOR_KINDS, required=False)
    actor_name = serializers.CharField(max_length=150, required=False)
    target_type = serializers.RegexField(r"^[a-z_.]{1,64}$", required=False)
    target_id = serializers.CharField(max_length=128, required=False)
    after = serializers.DateTimeField(required=False, help_text="Entries at or after this time.")
    before = serializers.DateTimeField(required=False, help_text="Entries before this time.")


class NewestEntries(CursorPages):
    ordering = "-id"


@extend_schema(summary="List the audit trail, newest first", parameters=[AuditFilters])
class AuditEntryList(generics.ListAPIView):
    """Who did what to which data, filtered by action, actor, target and time."""

    required_scopes = {"GET": "audit:read"}
    serializer_class = AuditEntrySerializer
    pagination_class = NewestEntries

    def get_queryset(self):
        wanted = _query(AuditFilters, self.request)
        entries = AuditEntry.objects.all()
        for field in ("action", "actor_kind", "actor_name", "target_type", "target_id"):
            if field in wanted:
                entries = entries.filter(**{field: wanted[field]})
        if "after" in wanted:
            entries = entries.filter(at__gte=wanted["after"])
        if "before" in wanted:
            entries = entries.filter(at__lt=wanted["before"])
        return entries
