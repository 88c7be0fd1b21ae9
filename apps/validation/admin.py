"""Operators configure the validation rules; every change is a new, audited version."""

from django import forms
from django.contrib import admin

from apps.core.admin_base import SavedByServiceAdmin
from apps.core.models import ValidationRule
from apps.validation.services import rule_update


class RuleForm(forms.ModelForm):
    seen_version = forms.IntegerField(widget=forms.HiddenInput)

    class Meta:
        model = ValidationRule
        fields = ("enabled", "severity", "parameters")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["seen_version"].initial = self.instance.version


@admin.register(ValidationRule)
class ValidationRuleAdmin(SavedByServiceAdmin):
    form = RuleForm
    list_display = ("code", "enabled", "severity", "version", "updated_at")
    readonly_fields = ("code", "description", "version", "updated_at")

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        rule_update(
            rule_id=obj.pk, actor=request.user, expected_version=data["seen_version"],
            enabled=data["enabled"], severity=data["severity"], parameters=data["parameters"],
        )

    def has_add_permission(self, request):
        return False  # rules come with the code that implements them

    def has_delete_permission(self, request, obj=None):
        return False
