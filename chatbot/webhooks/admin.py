"""Webhooks in the admin: subscriptions (secret shown once), deliveries with every attempt."""

from django import forms
from django.contrib import admin, messages

from chatbot.webhooks import delivery
from chatbot.webhooks.addresses import UnsafeUrl, check_literal_host
from chatbot.webhooks.events import EVENT_TYPES
from chatbot.webhooks.models import Delivery, DeliveryAttempt, Subscription


class SubscriptionForm(forms.ModelForm):
    url = forms.URLField(max_length=2000, assume_scheme="https")
    events = forms.MultipleChoiceField(
        choices=[(name, f"{name}: {meaning}") for name, meaning in EVENT_TYPES.items()],
        widget=forms.CheckboxSelectMultiple,
    )

    class Meta:
        model = Subscription
        fields = ["name", "url", "events", "owner", "owner_email"]

    def clean_url(self) -> str:
        from django.conf import settings

        url = self.cleaned_data["url"]
        try:
            check_literal_host(url, settings.WEBHOOK_ALLOW_PRIVATE_URLS)
        except UnsafeUrl as error:
            raise forms.ValidationError(str(error)) from None
        return url


@admin.register(Subscription)
class SubscriptionAdmin(admin.ModelAdmin):
    form = SubscriptionForm
    list_display = ("name", "url", "event_list", "is_active", "paused_at", "owner_notified_at")
    list_filter = ("is_active",)
    search_fields = ("name", "url")
    readonly_fields = (
        "pause_reason",
        "paused_at",
        "owner_notified_at",
        "failing_since",
        "failed_deliveries_in_a_row",
        "created_at",
    )
    actions = ["resume"]

    @admin.display(description="events")
    def event_list(self, subscription: Subscription) -> str:
        return ", ".join(subscription.events)

    def get_changeform_initial_data(self, request) -> dict:
        return {"owner": request.user.pk}

    def save_model(self, request, subscription, form, change) -> None:
        super().save_model(request, subscription, form, change)
        if not change:
            messages.warning(
                request,
                f"The signing secret of '{subscription.name}' is {subscription.secret} — copy "
                "it now into the receiver: it is not shown again.",
            )

    @admin.action(description="Resume the selected subscriptions (what waits is delivered)")
    def resume(self, request, queryset) -> None:
        for subscription in queryset:
            delivery.resume(subscription.pk)
        messages.success(request, f"Resumed {queryset.count()} subscription(s).")


class AttemptInline(admin.TabularInline):
    """Every attempt: when, what came back, how long it took."""

    model = DeliveryAttempt
    fields = (
        "attempted_at",
        "is_success",
        "status_code",
        "error",
        "duration_ms",
        "response_excerpt",
    )
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    """The delivery log; deliveries are made by events, never by hand."""

    list_display = (
        "id",
        "subscription",
        "event_type",
        "sequence",
        "status",
        "attempt_count",
        "next_attempt_at",
        "delivered_at",
    )
    list_filter = ("status", "subscription", "event__type")
    list_select_related = ("subscription", "event")
    readonly_fields = (
        "subscription",
        "event_type",
        "ordering_key",
        "sequence",
        "status",
        "attempt_count",
        "next_attempt_at",
        "give_up_at",
        "delivered_at",
        "created_at",
        "payload",
    )
    exclude = ("line", "event")
    inlines = [AttemptInline]
    actions = ["resend"]

    @admin.display(description="event")
    def event_type(self, delivery_row: Delivery) -> str:
        return delivery_row.event.type

    @admin.display(description="ordering key")
    def ordering_key(self, delivery_row: Delivery) -> str:
        return delivery_row.event.ordering_key

    @admin.display(description="body")
    def payload(self, delivery_row: Delivery) -> str:
        return delivery.body_of(delivery_row).decode()

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    @admin.action(description="Resend the selected deliveries (same id and sequence)")
    def resend(self, request, queryset) -> None:
        for delivery_row in queryset:
            delivery.resend(delivery_row.pk)
        messages.success(request, f"Queued {queryset.count()} delivery(ies) to send again.")
