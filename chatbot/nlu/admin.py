"""Intents and their examples, editable by admins; classifications, read-only."""

from django.contrib import admin

from chatbot.nlu.models import Intent, MessageClassification, TrainingExample


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
