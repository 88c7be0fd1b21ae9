from django.conf import settings
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.urls import path

from apps.core.models import Client
from apps.deliverability import selectors
from apps.deliverability.charts import rate_days, rate_rows
from apps.deliverability.models import BounceEvent


@admin.register(BounceEvent)
class BounceEventAdmin(admin.ModelAdmin):
    """Read-only: reports change state only through apps.deliverability.services."""

    list_display = ("received_at", "kind", "source", "recipient", "sending_domain", "message",
                    "batch", "client")
    list_filter = ("kind", "source")
    search_fields = ("recipient", "key")
    list_select_related = ("message", "batch__campaign", "client")
    date_hierarchy = "received_at"
    change_list_template = "admin/deliverability/bounceevent/change_list.html"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_urls(self):
        rates = self.admin_site.admin_view(self.rates_view)
        return [path("rates/", rates, name="deliverability_bounceevent_rates"), *super().get_urls()]

    def rates_view(self, request):
        """Bounce and complaint rates per client and sending domain, per day."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        days = rate_days(request.GET.get("days"))
        chosen = request.GET.get("client", "")
        client_id = int(chosen) if chosen.isdigit() else None
        context = {
            **self.admin_site.each_context(request), "title": "Bounce and complaint rates",
            "rows": rate_rows(selectors.rates(client_id=client_id, days=days)), "days": days,
            "clients": Client.objects.order_by("name").only("pk", "name"), "chosen": client_id,
            "threshold": settings.BOUNCE_BREAKER_PERCENT,
        }
        return TemplateResponse(request, "admin/deliverability/rates.html", context)
