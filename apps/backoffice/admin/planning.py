"""The planning room's configuration (apps/planning): the reviewer roster and the tiers'
commitments. Operators change them; reviewers may look (docs/planning.md). Operators also set
the reviewer-hour cost and read the capacity view and the capacity plan."""

from django import forms
from django.contrib import admin
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.urls import path
from django.utils import timezone

from apps.planning import capacity, capacity_charts
from apps.planning.demand import PlanError, capacity_plan, hourly_cost
from apps.planning.models import Commitment, ReviewerCost, RosterException, Shift
from apps.planning.plan import MAX_REVIEWERS


@admin.register(Shift)
class ShiftAdmin(admin.ModelAdmin):
    list_display = ("reviewer", "weekday", "start_hour", "end_hour")
    list_filter = ("weekday", "reviewer")
    list_select_related = ("reviewer",)


@admin.register(RosterException)
class RosterExceptionAdmin(admin.ModelAdmin):
    list_display = ("date", "kind", "reviewer", "start_hour", "end_hour", "note")
    list_filter = ("kind",)
    date_hierarchy = "date"
    list_select_related = ("reviewer",)


@admin.register(Commitment)
class CommitmentAdmin(admin.ModelAdmin):
    list_display = (
        "tier", "covered_from_hour", "covered_to_hour", "weekdays_only", "extended_over_messages",
        "extended_target_minutes", "extended_target_pct",
    )


class PlanVolumeForm(forms.Form):
    volume_per_day = forms.FloatField(
        required=False, min_value=0.1, max_value=1_000_000, label="Batches a day",
        help_text="Empty: the forecast (the last 28 days' rate).",
    )


@admin.register(ReviewerCost)
class ReviewerCostAdmin(admin.ModelAdmin):
    """The price of a reviewer-hour (one row, operators change it), and the capacity pages."""

    list_display = ("hourly_cost", "currency", "updated_at")
    fields = ("hourly_cost", "currency")

    def has_add_permission(self, request):
        return super().has_add_permission(request) and not ReviewerCost.objects.exists()

    def has_delete_permission(self, request, obj=None):
        return False

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("capacity/", view(self.capacity_view), name="planning_capacity"),
            path("capacity-plan/", view(self.plan_view), name="planning_capacity_plan"),
        ] + super().get_urls()

    def capacity_view(self, request):
        if not request.user.has_perm("planning.view_capacity"):
            raise PermissionDenied
        figures = capacity.capacity_view(now=timezone.now())
        context = {
            **self.admin_site.each_context(request),
            "title": "Capacity",
            "opts": self.model._meta,
            **figures,
            "load_svg": capacity_charts.load_svg(figures["loads"], figures["threshold"]),
            "capacity_svg": capacity_charts.capacity_svg(figures["hours"]),
            "arrivals_svg": capacity_charts.arrivals_svg(figures["arrivals"]),
        }
        return TemplateResponse(request, "admin/planning/capacity.html", context)

    def plan_view(self, request):
        if not request.user.has_perm("planning.view_capacity"):
            raise PermissionDenied
        form = PlanVolumeForm(request.GET or None)
        volume = form.cleaned_data["volume_per_day"] if form.is_valid() else None
        plan = inputs = cost = error = None
        if not form.is_bound or form.is_valid():
            try:
                plan, inputs, cost = cached_plan(volume_per_day=volume)
            except PlanError as exc:
                error = str(exc)
        context = {
            **self.admin_site.each_context(request),
            "title": "Capacity plan: the cost of the promise",
            "opts": self.model._meta,
            "form": form,
            "plan": plan,
            "rows": plan_rows(plan, inputs) if plan else [],
            "inputs": inputs,
            "cost": cost,
            "error": error,
            "max_reviewers": MAX_REVIEWERS,
        }
        return TemplateResponse(request, "admin/planning/capacity_plan.html", context)


def cached_plan(*, volume_per_day: float | None):
    """The plan takes seconds (dozens of simulations), so a page shows the one computed within
    the hour for the same volume and price; a new hour or a new price computes afresh."""
    now = timezone.now()
    cost = hourly_cost()
    changed = cost.updated_at.timestamp() if cost.updated_at else 0
    key = f"planning:plan:{now:%Y%m%d%H}:{volume_per_day}:{cost.hourly_cost}:{changed}"
    found = cache.get(key)
    if found is None:
        found = capacity_plan(now=now, volume_per_day=volume_per_day)
        cache.set(key, found, timeout=3600)
    return found


def plan_rows(plan, inputs) -> list[dict]:
    labels = {c.key: c.label for c in inputs.classes}
    return [{"label": labels[t.tier], "plan": t} for t in plan.tiers]
