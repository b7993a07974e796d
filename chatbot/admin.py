"""Read-only admin views of conversations, their logs, and the visitors' ratings of answers.

Messages show their masked text; a user whose role may reveal personal data opens a message's
original through an explicit, audited step (docs/personal-data.md).
"""

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.decorators import method_decorator
from django.utils.html import format_html
from django.views.decorators.http import require_http_methods

from chatbot import actions as conversation_actions
from chatbot import personal_data_storage
from chatbot.audit.admin_opening import RecordsTranscriptOpening
from chatbot.models import AnswerFeedback, Conversation, Event, Turn, Visitor
from chatbot.privacy import admin_actions

RATING_MARKS = {AnswerFeedback.Rating.UP: "👍", AnswerFeedback.Rating.DOWN: "👎"}


class ReadOnlyAdmin(admin.ModelAdmin):
    """An admin that shows rows but never writes them: the log is append-only."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        # A plain delete would leave the webhook payloads' copies and no audit record: a
        # person's data goes through Visitors, "Erase data" (chatbot.privacy).
        return False


class TurnInline(admin.TabularInline):
    """Each turn's decision, what it changed in the state, and how its answers were rated."""

    model = Turn
    fields = ("visitor_event", "decision", "changes", "feedback")
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ("visitor_event__seq",)

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("answer_feedback__answer")

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

    @admin.display(description="visitor's rating")
    def feedback(self, turn: Turn) -> str:
        ratings = sorted(turn.answer_feedback.all(), key=lambda feedback: feedback.answer.seq)
        return " ".join(f"{RATING_MARKS[item.rating]} #{item.answer.seq}" for item in ratings)


class EventInline(admin.TabularInline):
    model = Event
    fields = ("seq", "author", "kind", "text", "client_id", "created_at", "rating")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def get_fields(self, request, obj=None):
        # The link to a message's original, only for a role that may read it.
        if personal_data_storage.may_reveal(request.user):
            return (*self.fields, "original")
        return self.fields

    def get_readonly_fields(self, request, obj=None):
        return self.get_fields(request, obj)

    @admin.display(description="original")
    def original(self, event: Event) -> str:
        if not event.has_original:
            return ""
        url = reverse("admin:chatbot_conversation_reveal", args=[event.conversation_id, event.seq])
        return format_html('<a href="{}">Reveal…</a>', url)

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("feedback")

    @admin.display(description="visitor's rating")
    def rating(self, event: Event) -> str:
        feedback = getattr(event, "feedback", None)
        return RATING_MARKS[feedback.rating] if feedback else ""


@admin.register(Conversation)
class ConversationAdmin(RecordsTranscriptOpening, ReadOnlyAdmin):
    list_display = ("id", "visitor", "status", "last_seq", "created_at", "updated_at")
    list_filter = ("status",)
    readonly_fields = ("visitor", "status", "last_seq", "state", "created_at", "updated_at")
    inlines = [EventInline, TurnInline]

    def get_urls(self):
        reveal = path(
            "<uuid:conversation_id>/reveal/<int:seq>/",
            self.admin_site.admin_view(self.reveal_view),
            name="chatbot_conversation_reveal",
        )
        return [reveal, *super().get_urls()]

    @method_decorator(require_http_methods(["GET", "POST"]))
    def reveal_view(self, request, conversation_id, seq: int):
        """Ask to confirm (GET), then show a message's original and audit the reading (POST)."""
        if not personal_data_storage.may_reveal(request.user):
            raise PermissionDenied("Your role may not reveal personal data.")
        event = Event.objects.filter(
            conversation_id=conversation_id, seq=seq, kind=Event.MESSAGE
        ).first()
        if event is None or not event.has_original:
            raise Http404("This message has no kept original.")
        context = {
            **self.admin_site.each_context(request),
            "title": f"Message #{seq} of conversation {conversation_id}",
            "event": event,
            "masked_kinds": event.data.get("masked", []),
            "back_url": reverse("admin:chatbot_conversation_change", args=[conversation_id]),
        }
        if request.method == "POST":
            try:
                context["original"] = conversation_actions.reveal_original(
                    event, user=request.user, request=request, details={"where": "admin"}
                )
            except personal_data_storage.UnreadableOriginal:
                context["error"] = "It was encrypted with a key that is no longer configured."
        return TemplateResponse(request, "admin/chatbot/reveal_original.html", context)


@admin.register(Visitor)
class VisitorAdmin(ReadOnlyAdmin):
    list_display = ("id", "external_id", "name", "email", "created_at", "identified_at")
    # Find a customer by the company's user id, name or email (identified visitors).
    search_fields = ("external_id", "name", "email")
    actions = [admin_actions.export_data, admin_actions.erase_data]

    def has_personal_data_permission(self, request) -> bool:
        return admin_actions.is_administrator(request)


@admin.register(Turn)
class TurnAdmin(RecordsTranscriptOpening, ReadOnlyAdmin):
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


@admin.register(AnswerFeedback)
class AnswerFeedbackAdmin(RecordsTranscriptOpening, ReadOnlyAdmin):
    """Every rated answer, newest first; filter by rating to read what did not help."""

    list_display = ("mark", "answer_text", "question", "conversation", "updated_at")
    list_filter = ("rating",)
    list_select_related = ("answer", "turn__visitor_event")
    readonly_fields = ("rating", "answer", "turn", "created_at", "updated_at")

    @admin.display(description="rating", ordering="rating")
    def mark(self, feedback: AnswerFeedback) -> str:
        return f"{RATING_MARKS[feedback.rating]} {feedback.rating}"

    @admin.display(description="answer")
    def answer_text(self, feedback: AnswerFeedback) -> str:
        return feedback.answer.text

    @admin.display(description="visitor's message")
    def question(self, feedback: AnswerFeedback) -> str:
        return feedback.turn.visitor_event.text if feedback.turn else ""

    @admin.display(description="conversation")
    def conversation(self, feedback: AnswerFeedback) -> str:
        conversation_id = feedback.answer.conversation_id
        url = reverse("admin:chatbot_conversation_change", args=[conversation_id])
        return format_html('<a href="{}">{}</a>', url, conversation_id)
