"""Admin for agents, skills, canned replies, tickets and handoffs."""

from django.contrib import admin

from chatbot.audit.admin_opening import RecordsTranscriptOpening
from handoff.models import Agent, CannedReply, Handoff, Note, Rating, Skill, Ticket


@admin.register(Skill)
class SkillAdmin(admin.ModelAdmin):
    list_display = ("name", "intents")


@admin.register(Agent)
class AgentAdmin(admin.ModelAdmin):
    list_display = ("display_name", "user", "is_online", "capacity")
    filter_horizontal = ("skills",)


@admin.register(CannedReply)
class CannedReplyAdmin(admin.ModelAdmin):
    list_display = ("title", "text")
    search_fields = ("title", "text")


@admin.register(Ticket)
class TicketAdmin(RecordsTranscriptOpening, admin.ModelAdmin):
    list_display = ("id", "conversation", "created_at", "contact", "is_resolved")
    list_filter = ("is_resolved",)


class NoteInline(admin.TabularInline):
    model = Note
    extra = 0


@admin.register(Handoff)
class HandoffAdmin(RecordsTranscriptOpening, admin.ModelAdmin):
    list_display = (
        "id",
        "conversation",
        "status",
        "reason",
        "intent",
        "assigned_to",
        "requested_at",
        "disposition",
    )
    list_filter = ("status", "reason")
    readonly_fields = [field.name for field in Handoff._meta.fields]
    inlines = [NoteInline]


@admin.register(Rating)
class RatingAdmin(admin.ModelAdmin):
    list_display = ("conversation", "score", "was_human_handled", "created_at")
