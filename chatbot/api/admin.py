"""API keys in the admin: issue one (its key shown once), see when each was last used, revoke."""

from django import forms
from django.contrib import admin, messages

from chatbot.api.models import SCOPES, ApiKey


class ApiKeyForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(
        choices=[(scope, f"{scope}: {meaning}") for scope, meaning in SCOPES.items()],
        widget=forms.CheckboxSelectMultiple,
    )

    class Meta:
        model = ApiKey
        fields = ["name", "scopes"]


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    form = ApiKeyForm
    list_display = ("name", "prefix", "scope_list", "created_at", "last_used_at", "revoked_at")
    list_filter = ("revoked_at",)
    search_fields = ("name", "prefix")
    readonly_fields = ("prefix", "created_by", "created_at", "last_used_at", "revoked_at")
    actions = ["revoke"]

    @admin.display(description="scopes")
    def scope_list(self, api_key: ApiKey) -> str:
        return ", ".join(api_key.scopes)

    def has_change_permission(self, request, api_key=None) -> bool:
        # A key's scopes are fixed when it is issued: a wider key is a new key.
        return api_key is None and super().has_change_permission(request, api_key)

    def save_model(self, request, api_key, form, change) -> None:
        if change:
            return
        issued, key = ApiKey.issue(api_key.name, form.cleaned_data["scopes"], request.user)
        api_key.pk = issued.pk
        messages.warning(
            request,
            f"The key for '{issued.name}' is {key} — copy it now: it is stored hashed and "
            "cannot be shown again.",
        )

    @admin.action(description="Revoke the selected keys (they stop working at once)")
    def revoke(self, request, queryset) -> None:
        for api_key in queryset:
            api_key.revoke()
        messages.success(request, f"Revoked {queryset.count()} key(s).")
