"""Building blocks shared by the staff admin's modules (one module per stage beside this one)."""

from django.contrib import admin, messages
from django.http import HttpResponseRedirect

from apps.core.errors import ServiceError


def revalidated_level(worst_severity: str) -> int:
    """The banner for "Re-validated: …": red while the message still blocks, amber while a
    finding is left for a person, green when nothing is left."""
    return {
        "block": messages.ERROR, "review": messages.WARNING, "warn": messages.WARNING,
    }.get(worst_severity, messages.SUCCESS)


class SavedByServiceAdmin(admin.ModelAdmin):
    """A change form whose save_model calls a service: the service audits, and a refusal or a
    lost race is shown to the user with the page reloaded in its current state."""

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except ServiceError as exc:
            self.message_user(request, str(exc), level=messages.ERROR)
            return HttpResponseRedirect(request.path)

    def save_related(self, request, form, formsets, change):
        pass  # nothing related is edited on these forms

    def log_change(self, request, obj, message):
        pass  # the service wrote the audit event


class ReadOnlyAdmin(admin.ModelAdmin):
    """A record kept for reading: rows are written by services, never through the admin."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
