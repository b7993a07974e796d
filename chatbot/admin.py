"""Read-only admin views of conversations and their logs."""

from django.contrib import admin

from chatbot.models import Conversation, Event, Turn, Visitor


class ReadOnlyAdmin(admin.ModelAdmin):
    """An admin that shows rows but never writes them: the log is append-only."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class EventInline(admin.TabularInline):
    model = Event
    fields = ("seq", "author", "kind", "text", "client_id", "created_at")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Conversation)
class ConversationAdmin(ReadOnlyAdmin):
    list_display = ("id", "visitor", "status", "last_seq", "created_at", "updated_at")
    list_filter = ("status",)
    readonly_fields = ("visitor", "status", "last_seq", "state", "created_at", "updated_at")
    inlines = [EventInline]


@admin.register(Visitor)
class VisitorAdmin(ReadOnlyAdmin):
    list_display = ("id", "created_at")


@admin.register(Turn)
class TurnAdmin(ReadOnlyAdmin):
    list_display = ("conversation", "visitor_event", "created_at")
    readonly_fields = ("conversation", "visitor_event", "state", "created_at")
