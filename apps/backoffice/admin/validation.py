"""Operators configure the validation rules; every change is a new, audited version.

Parameters are checked against the rule's schema when the form is submitted (a bad regular
expression or list is refused with a message saying what is wrong), and "Preview impact" tries
the new settings on recent messages without saving them.
"""

from django import forms
from django.contrib import admin

from apps.backoffice.admin._base import SavedByServiceAdmin
from apps.core.models import ValidationRule
from apps.validation.checks.base import RuleConfig
from apps.validation.models import RuleOverride
from apps.validation.parameters import SCHEMAS, describe, validate_parameters
from apps.validation.selectors import rule_impact
from apps.validation.services import rule_override_delete, rule_override_save, rule_update


def _clean_parameters(code: str, value):
    try:
        return validate_parameters(code, value)
    except ValueError as exc:
        raise forms.ValidationError(str(exc)) from exc


def _schema_help(code: str) -> str:
    schema = SCHEMAS.get(code)
    if not schema:
        return "This rule takes no parameters."
    return "Takes: " + "; ".join(describe(name, kind) for name, kind in schema.items()) + "."


class RuleForm(forms.ModelForm):
    seen_version = forms.IntegerField(widget=forms.HiddenInput)
    preview_requested = False  # set per request by the admin's get_form

    class Meta:
        model = ValidationRule
        fields = ("enabled", "severity", "parameters")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "seen_version" in self.fields:  # a view-only user's form has no fields to edit
            self.fields["seen_version"].initial = self.instance.version
        if "parameters" in self.fields:
            self.fields["parameters"].help_text = _schema_help(self.instance.code)

    def clean_parameters(self):
        return _clean_parameters(self.instance.code, self.cleaned_data.get("parameters"))

    def clean(self):
        data = super().clean()
        if self.preview_requested and not self.errors:
            rule = RuleConfig(
                self.instance.code, data["severity"], self.instance.version,
                data.get("parameters") or {},
            )
            impact = rule_impact(
                rule=rule, code=self.instance.code, enabled=bool(data.get("enabled"))
            )
            # Shown at the top of the re-displayed form, which keeps what was typed: a preview
            # never saves.
            raise forms.ValidationError(f"Preview only, nothing saved. {impact}")
        return data


@admin.register(ValidationRule)
class ValidationRuleAdmin(SavedByServiceAdmin):
    form = RuleForm
    change_form_template = "admin/validation/rule_change_form.html"
    list_display = ("code", "enabled", "severity", "version", "updated_at")
    readonly_fields = ("code", "description", "version", "updated_at")

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        form.preview_requested = request.method == "POST" and "_preview" in request.POST
        return form

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


class RuleOverrideForm(forms.ModelForm):
    class Meta:
        model = RuleOverride
        fields = ("rule", "client", "enabled", "severity", "parameters")

    def clean(self):
        data = super().clean()
        rule = data.get("rule") or (self.instance.rule if self.instance.rule_id else None)
        if rule is not None and "parameters" in data:
            try:
                data["parameters"] = validate_parameters(rule.code, data["parameters"])
            except ValueError as exc:
                self.add_error("parameters", str(exc))
        return data


@admin.register(RuleOverride)
class RuleOverrideAdmin(SavedByServiceAdmin):
    form = RuleOverrideForm
    list_display = ("rule", "client", "enabled", "severity", "version", "updated_at")
    list_filter = ("client", "rule")
    list_select_related = ("rule", "client")
    readonly_fields = ("version", "updated_at")

    def get_readonly_fields(self, request, obj=None):
        # Which rule and client an override is for is fixed once it exists.
        return self.readonly_fields + (("rule", "client") if obj else ())

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        saved = rule_override_save(
            actor=request.user, rule_id=obj.rule_id, client_id=obj.client_id,
            enabled=data.get("enabled"), severity=data.get("severity", ""),
            parameters=data.get("parameters") or {},
        )
        obj.pk = saved.pk  # so the admin's redirect and message name the saved row

    def delete_model(self, request, obj):
        rule_override_delete(actor=request.user, override_id=obj.pk)

    def delete_queryset(self, request, queryset):
        for override in queryset:
            rule_override_delete(actor=request.user, override_id=override.pk)
