"""Read-only admin views of conversations and their logs."""

from django.contrib import admin

from chatbot.models import Conversation, Event, Turn, Visitor


class ReadOnlyAdmin(admin.ModelAdmin):
    """An admin that shows rows but never writes them: the log is append-only."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class TurnInline(admin.TabularInline):
    """Each turn's decision and what it changed in the dialogue state, in order."""

    model = Turn
    fields = ("visitor_event", "decision", "changes")
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ("visitor_event__seq",)

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="decision")
    def decision(self, turn: Turn) -> str:
        trace = turn.trace or {}
        return f"{trace.get('decision', '?')} ({trace.get('intent') or 'no intent'})"

    @admin.display(description="state changes")
    def changes(self, turn: Turn) -> str:
        return "; ".join(
            f"{name}: {change['before']!r} → {change['after']!r}"
            for name, change in (turn.state_diff or {}).items()
            if name not in ("recent_questions", "turn_count")
        )


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
    inlines = [EventInline, TurnInline]


@admin.register(Visitor)
class VisitorAdmin(ReadOnlyAdmin):
    list_display = ("id", "created_at")


@admin.register(Turn)
class TurnAdmin(ReadOnlyAdmin):
    list_display = ("conversation", "visitor_event", "created_at")
    readonly_fields = (
        "conversation",
        "visitor_event",
        "understanding",
        "trace",
        "state_diff",
        "state",
        "created_at",
    )
