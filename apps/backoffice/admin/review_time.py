"""Admin for the holding queue's configuration (SLA targets) and the review-time page."""

from datetime import timedelta

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.urls import path
from django.utils import timezone

from apps.core.models import Client, Tier
from apps.review import charts, stats
from apps.review.models import DEFAULT_SLA_TARGETS, SlaTarget
from apps.review.selectors import sla_targets
from apps.review.targets import MIN_AT_RISK, WINDOW_DAYS, target_evidence


@admin.register(SlaTarget)
class SlaTargetAdmin(admin.ModelAdmin):
    """Operators change targets (review.change_slatarget); reviewers may only look."""

    list_display = ("tier", "target_minutes", "target_pct", "at_risk_pct", "updated_at")
    fields = ("tier", "target_minutes", "target_pct", "at_risk_pct")

    def has_delete_permission(self, request, obj=None):
        return False

    def get_readonly_fields(self, request, obj=None):
        return ("tier",) if obj else ()

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("stats/", view(self.stats_view), name="review_stats"),
            path("targets/", view(self.targets_view), name="review_targets"),
        ] + super().get_urls()

    def targets_view(self, request):
        """Per tier: withdrawals and chases by how long clients had waited, and the target
        that suggests (apps/review/targets.py)."""
        if not request.user.has_perm("review.view_review_stats"):
            raise PermissionDenied
        targets = sla_targets()
        tiers = [(evidence, targets.get(evidence.tier)) for evidence in target_evidence()]
        context = {
            **self.admin_site.each_context(request),
            "title": "Targets from client behaviour",
            "opts": self.model._meta,
            "tiers": tiers,
            "window_days": WINDOW_DAYS,
            "min_at_risk": MIN_AT_RISK,
        }
        return TemplateResponse(request, "admin/review/targets.html", context)

    def stats_view(self, request):
        if not request.user.has_perm("review.view_review_stats"):
            raise PermissionDenied
        form = StatsWindowForm(request.GET or None)
        now = timezone.now()
        since, until, client_id, tier = now - timedelta(days=7), now, None, ""
        if form.is_valid():
            days = form.cleaned_data["days"] or 7
            since, until = now - timedelta(days=days), now
            client_id = form.cleaned_data["client"].pk if form.cleaned_data["client"] else None
            tier = form.cleaned_data["tier"]
        targets = sla_targets()
        samples = stats.decided_rounds(since=since, until=until, client_id=client_id)
        if tier:
            samples = [s for s in samples if s.tier == tier]
        chart_target = targets.get(tier or Tier.STANDARD)
        target_min = (chart_target.target_minutes if chart_target
                      else DEFAULT_SLA_TARGETS[Tier.STANDARD][0])
        context = {
            **self.admin_site.each_context(request),
            "title": "Time in review",
            "opts": self.model._meta,
            "form": form,
            "since": since,
            "until": until,
            "overall": stats.summarize(samples, targets),
            "by_client": stats.breakdown(samples, targets, "client"),
            "by_tier": stats.breakdown(samples, targets, "tier"),
            "by_reviewer": stats.breakdown(samples, targets, "reviewer"),
            "distribution_svg": charts.distribution_svg(samples, target_min),
            "p95_svg": charts.p95_over_time_svg(samples, target_min),
            "targets": targets.values(),
        }
        return TemplateResponse(request, "admin/review/stats.html", context)


class StatsWindowForm(forms.Form):
    days = forms.IntegerField(
        min_value=1, max_value=366, required=False, initial=7, label="Last N days"
    )
    client = forms.ModelChoiceField(queryset=Client.objects.order_by("name"), required=False)
    tier = forms.ChoiceField(choices=[("", "all"), *Tier.choices], required=False)
