"""Rules that learn from reviewers: the *Rule statistics* page (per rule and per client, how
findings ended and the reviewer time they took) and the rule proposals, each with its evidence
and impact preview, accepted or declined by an operator (apps/review/services/proposals.py)."""

from datetime import timedelta

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from apps.backoffice.admin._base import ReadOnlyAdmin
from apps.core.errors import ServiceError
from apps.core.models import Client
from apps.review.models import Disposition, ProposalStatus, RuleProposal
from apps.review.rule_stats import rule_figures
from apps.review.services import (
    rule_proposal_accept,
    rule_proposal_decline,
    rule_proposals_find,
)
from apps.review.services.proposals import MIN_FINDINGS, WINDOW_DAYS
from apps.validation.checks.base import RuleConfig
from apps.validation.selectors import rule_impact

DECIDE = "review.decide_ruleproposal"


class WindowForm(forms.Form):
    days = forms.IntegerField(
        min_value=1, max_value=366, required=False, initial=WINDOW_DAYS, label="Last N days"
    )
    client = forms.ModelChoiceField(queryset=Client.objects.order_by("name"), required=False)
    by_client = forms.BooleanField(required=False, label="One row per client")


class DeclineForm(forms.Form):
    reason = forms.CharField(
        label="Why decline", widget=forms.Textarea(attrs={"rows": 2}), max_length=2000
    )


@admin.register(RuleProposal)
class RuleProposalAdmin(ReadOnlyAdmin):
    list_display = ("rule", "from_severity", "to_severity", "evidence_share", "status",
                    "created_at", "decided_by")
    list_filter = ("status",)
    list_select_related = ("rule", "decided_by")
    change_form_template = "admin/review/ruleproposal/change_form.html"
    change_list_template = "admin/review/ruleproposal/change_list.html"

    @admin.display(description="evidence")
    def evidence_share(self, obj):
        evidence = obj.evidence or {}
        return f"{evidence.get('share_pct', '?')} % of {evidence.get('decided', '?')} findings"

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("statistics/", view(self.statistics_view), name="review_rule_statistics"),
            path("find/", view(require_POST(self.find_view)), name="review_ruleproposal_find"),
            path("<int:proposal_id>/accept/", view(require_POST(self.accept_view)),
                 name="review_ruleproposal_accept"),
            path("<int:proposal_id>/decline/", view(require_POST(self.decline_view)),
                 name="review_ruleproposal_decline"),
        ] + super().get_urls()

    def change_view(self, request, object_id, form_url="", extra_context=None):
        proposal = self.get_object(request, object_id)
        if proposal is None or not self.has_view_permission(request, proposal):
            return super().change_view(request, object_id, form_url, extra_context)
        rule = proposal.rule
        impact = None
        if proposal.status == ProposalStatus.OPEN:
            impact = rule_impact(
                rule=RuleConfig(rule.code, proposal.to_severity, rule.version,
                                dict(rule.parameters or {})),
                code=rule.code, enabled=rule.enabled,
            )
        evidence = proposal.evidence or {}
        context = {
            **self.admin_site.each_context(request),
            "title": f"Proposal: {rule.code} from {proposal.from_severity} to "
                     f"{proposal.to_severity}",
            "opts": self.model._meta,
            "original": proposal,
            "proposal": proposal,
            "evidence": evidence,
            "ended": _ended_rows(evidence.get("review_ended", {})),
            "impact": impact,
            "may_decide": request.user.has_perm(DECIDE) and proposal.status == ProposalStatus.OPEN,
            "decline_form": DeclineForm(),
            "rule_outdated": rule.version != proposal.rule_version,
        }
        return TemplateResponse(request, self.change_form_template, context)

    def _back(self, proposal_id: int):
        return HttpResponseRedirect(
            reverse("admin:review_ruleproposal_change", args=[proposal_id])
        )

    def accept_view(self, request, proposal_id: int):
        if not request.user.has_perm(DECIDE):
            raise PermissionDenied
        proposal = get_object_or_404(RuleProposal, pk=proposal_id)
        try:
            rule_proposal_accept(proposal_id=proposal.pk, actor=request.user)
        except ServiceError as exc:
            self.message_user(request, str(exc), level=messages.ERROR)
        else:
            self.message_user(
                request, f"Accepted: rule {proposal.rule.code} is now {proposal.to_severity} "
                "(a new version of the rule)."
            )
        return self._back(proposal.pk)

    def decline_view(self, request, proposal_id: int):
        if not request.user.has_perm(DECIDE):
            raise PermissionDenied
        proposal = get_object_or_404(RuleProposal, pk=proposal_id)
        form = DeclineForm(request.POST)
        try:
            if not form.is_valid():
                raise ServiceError("Say why the proposal is declined.")
            rule_proposal_decline(
                proposal_id=proposal.pk, actor=request.user, reason=form.cleaned_data["reason"]
            )
        except ServiceError as exc:
            self.message_user(request, str(exc), level=messages.ERROR)
        else:
            self.message_user(request, f"Declined: rule {proposal.rule.code} stays as it is.")
        return self._back(proposal.pk)

    def find_view(self, request):
        if not request.user.has_perm(DECIDE):
            raise PermissionDenied
        opened = rule_proposals_find()
        self.message_user(
            request, f"{len(opened)} new proposal(s)." if opened else
            "No new proposal: no rule's evidence says so, or it was proposed already.",
        )
        return HttpResponseRedirect(reverse("admin:review_ruleproposal_changelist"))

    def statistics_view(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied
        form = WindowForm(request.GET or None)
        days, client_id, by_client = WINDOW_DAYS, None, False
        if form.is_valid():
            days = form.cleaned_data["days"] or WINDOW_DAYS
            client = form.cleaned_data["client"]
            client_id = client.pk if client else None
            by_client = form.cleaned_data["by_client"]
        until = timezone.now()
        since = until - timedelta(days=days)
        figures = rule_figures(since=since, until=until, by_client=by_client,
                               client_id=client_id)
        context = {
            **self.admin_site.each_context(request),
            "title": "Rule statistics",
            "opts": self.model._meta,
            "form": form,
            "since": since,
            "until": until,
            "by_client": by_client,
            "dispositions": Disposition.choices,
            "rows": [_figure_row(f) for f in figures],
            "min_findings": MIN_FINDINGS,
        }
        return TemplateResponse(request, "admin/review/rule_stats.html", context)


def _ended_rows(ended: dict) -> list[tuple[str, int]]:
    return [(label, ended.get(value, 0)) for value, label in Disposition.choices]


def _figure_row(figure) -> dict:
    decided = figure.decided
    return {
        "rule_code": figure.rule_code,
        "client": figure.client_name,
        "flagged_messages": figure.flagged_messages,
        "findings": figure.findings,
        "counts": [
            (figure.count(value), round(100 * figure.count(value) / decided) if decided and
             value != Disposition.REJECTED else None)
            for value, _ in Disposition.choices
        ],
        "reviewer_minutes": round(figure.reviewer_seconds / 60, 1),
    }
