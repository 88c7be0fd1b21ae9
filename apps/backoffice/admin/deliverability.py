from django.contrib import admin

from apps.deliverability.models import BounceEvent


@admin.register(BounceEvent)
class BounceEventAdmin(admin.ModelAdmin):
    """Read-only: reports change state only through apps.deliverability.services."""

    list_display = ("received_at", "kind", "source", "recipient", "message", "batch", "client")
    list_filter = ("kind", "source")
    search_fields = ("recipient", "key")
    list_select_related = ("message", "batch__campaign", "client")
    date_hierarchy = "received_at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
