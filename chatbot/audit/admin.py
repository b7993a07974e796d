"""The audit trail in the admin: administrators read and filter it; nobody adds, changes or
removes an entry here."""

from django.contrib import admin

from chatbot.audit.models import AuditEntry


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    list_display = (
        "at",
        "actor_kind",
        "actor_name",
        "action",
        "target_type",
        "target_id",
        "ip_address",
    )
    list_filter = ("action", "actor_kind", "target_type", ("at", admin.DateFieldListFilter))
    search_fields = ("actor_name", "target_id", "request_id", "=ip_address")
    date_hierarchy = "at"
    readonly_fields = [field.name for field in AuditEntry._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def has_view_permission(self, request, obj=None) -> bool:
        return request.user.is_active and request.user.is_superuser
