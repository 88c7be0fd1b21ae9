"""Operators can read the webhook delivery log of every client (the portal shows each client
its own); nothing here is edited: the services write these rows."""

from django.contrib import admin

from apps.clienthooks.models import WebhookDelivery


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = ("created_at", "client", "event", "status", "attempts", "last_status_code",
                    "next_attempt_at")
    list_filter = ("status", "client")
    list_select_related = ("client", "event")
    exclude = ("body",)
    readonly_fields = ("client", "event", "idempotency_key", "url", "status", "created_at",
                       "attempts", "next_attempt_at", "last_attempt_at", "last_status_code",
                       "last_error", "delivered_at")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
