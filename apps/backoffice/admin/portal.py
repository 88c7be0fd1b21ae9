"""Operators issue and revoke clients' API tokens in the admin."""

from django import forms
from django.contrib import admin, messages

from apps.portal.models import ApiToken
from apps.portal.services import token_issue, token_revoke


class IssueTokenForm(forms.ModelForm):
    class Meta:
        model = ApiToken
        fields = ("client", "label")


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("prefix", "client", "label", "created_at", "last_used_at", "revoked_at")
    list_filter = ("client",)
    list_select_related = ("client",)
    actions = ["revoke_selected"]

    def get_form(self, request, obj=None, **kwargs):
        return IssueTokenForm if obj is None else super().get_form(request, obj, **kwargs)

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ()
        return (
            "client",
            "label",
            "prefix",
            "created_by",
            "created_at",
            "last_used_at",
            "revoked_at",
        )

    def get_fields(self, request, obj=None):
        return ("client", "label") if obj is None else self.get_readonly_fields(request, obj)

    def save_model(self, request, obj, form, change):
        token, raw = token_issue(
            client=form.cleaned_data["client"], label=form.cleaned_data["label"], actor=request.user
        )
        obj.pk = token.pk  # so the admin's redirect and log point at the issued token
        self.message_user(
            request, f"Token issued — copy it now, it is not shown again: {raw}", messages.WARNING
        )

    def log_addition(self, request, obj, message):
        pass  # the service wrote the audit event

    def has_delete_permission(self, request, obj=None):
        return False  # revoke instead: the row stays as the record of who had access

    @admin.action(description="Revoke selected tokens", permissions=["change"])
    def revoke_selected(self, request, queryset):
        for token_id in queryset.values_list("pk", flat=True):
            token_revoke(token_id=token_id, actor=request.user)
        self.message_user(request, "Revoked.")
