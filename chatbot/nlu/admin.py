"""Intents and their examples, editable by admins; classifications and trained models, read-only."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.template.response import TemplateResponse
from django.urls import path
from django.utils import timezone
from django.views.decorators.http import require_safe

from chatbot.nlu import artefacts
from chatbot.nlu.model_reports import (
    VERSION_NAME,
    model_report,
    model_row,
    read_metadata,
    stored_versions,
)
from chatbot.nlu.models import (
    Intent,
    MessageClassification,
    TrainedIntentModel,
    TrainingExample,
    TrainingRun,
)


class TrainingExampleInline(admin.TabularInline):
    model = TrainingExample
    extra = 1
    fields = ("text",)


@admin.register(Intent)
class IntentAdmin(admin.ModelAdmin):
    list_display = ("name", "example_count", "updated_at")
    search_fields = ("name", "description", "examples__text")
    inlines = [TrainingExampleInline]

    @admin.display(description="examples")
    def example_count(self, intent: Intent) -> int:
        return intent.examples.count()


@admin.register(TrainingExample)
class TrainingExampleAdmin(admin.ModelAdmin):
    list_display = ("text", "intent")
    list_filter = ("intent",)
    search_fields = ("text",)
    autocomplete_fields = ("intent",)


@admin.register(MessageClassification)
class MessageClassificationAdmin(admin.ModelAdmin):
    list_display = ("event", "intent", "confidence", "is_low_confidence", "model_version")
    list_filter = ("is_low_confidence", "intent")
    readonly_fields = [f.name for f in MessageClassification._meta.fields]

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


# Trained intent models: folders on disk, shown read-only. Promotion stays on the command line
# (train_intents, set_operating_point), where it is checked against the served model.
VIEW_INTENTS = "nlu.view_intent"


@admin.register(TrainedIntentModel)
class TrainedIntentModelAdmin(admin.ModelAdmin):
    """The stored intent models and their validation report; nothing here changes them."""

    def has_view_permission(self, request, obj=None) -> bool:
        return request.user.has_perm(VIEW_INTENTS)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def get_urls(self) -> list:
        # Only these two pages: the model admin's add, change and delete pages do not apply.
        def page(view):
            return self.admin_site.admin_view(require_safe(view))

        return [
            path("", page(self.changelist_view), name="nlu_trainedintentmodel_changelist"),
            path("<str:version>/", page(self.report_view), name="nlu_trainedintentmodel_report"),
        ]

    def changelist_view(self, request, extra_context=None) -> TemplateResponse:
        self._check_access(request)
        promoted = artefacts.promoted_version()
        rows = [model_row(name, read_metadata(name), promoted) for name in stored_versions()]
        return self._render(request, "admin/nlu/intent_models.html", "Intent models", rows=rows)

    def report_view(self, request, version: str) -> TemplateResponse:
        self._check_access(request)
        if not VERSION_NAME.fullmatch(version):
            raise Http404("No such intent model.")
        metadata = read_metadata(version)
        if metadata is None:
            raise Http404("No such intent model.")
        report = model_report(version, metadata, artefacts.promoted_version())
        return self._render(
            request, "admin/nlu/intent_model.html", f"Intent model {version}", report=report
        )

    def _check_access(self, request) -> None:
        if not self.has_view_permission(request):
            raise PermissionDenied

    def _render(self, request, template: str, title: str, **context) -> TemplateResponse:
        context = {
            **self.admin_site.each_context(request),
            "title": title,
            "opts": self.opts,
            "app_label": self.opts.app_label,
            **context,
        }
        return TemplateResponse(request, template, context)


@admin.register(TrainingRun)
class TrainingRunAdmin(admin.ModelAdmin):
    """Trainings asked for through the API; a run its worker died under can be marked failed."""

    list_display = ("pk", "status", "mode", "requested_by", "created_at", "version", "is_promoted")
    list_filter = ("status",)
    readonly_fields = [field.name for field in TrainingRun._meta.fields]
    actions = ["mark_failed"]

    def has_add_permission(self, request) -> bool:
        return False

    @admin.action(description="Mark as failed (its worker is gone), so a new one may start")
    def mark_failed(self, request, queryset) -> None:
        stuck = queryset.filter(is_active=True)
        count = stuck.update(
            status=TrainingRun.Status.FAILED,
            finished_at=timezone.now(),
            error="marked failed by an admin",
            is_active=None,
        )
        messages.success(request, f"Marked {count} run(s) failed.")
