"""The review stage's staff screens: the queue, the review screen of a batch (claims, fixes,
approve, reject, recall, the audit CSV) and a message's edit and exclude pages.

Every change of state goes through a service (apps/review/services.py), which writes its audit
event; status fields are read-only, and no admin form saves a status directly.
"""

import csv
import itertools
import json
import re

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import HttpResponseRedirect, StreamingHttpResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from apps.backoffice.admin._base import SavedByServiceAdmin, revalidated_level
from apps.backoffice.admin.review_path import ReviewPathMixin
from apps.core.audit import AuditAction
from apps.core.errors import ServiceError
from apps.core.models import (
    Batch,
    BatchStatus,
    Client,
    Message,
    SendStatus,
    Tier,
    ValidationRule,
)
from apps.review import selectors
from apps.review.models import RejectReason, ReviewRound
from apps.review.services import (
    BulkFixResult,
    FindingGroup,
    batch_approve,
    batch_claim,
    batch_recall,
    batch_reject,
    claim_reassign,
    claim_release,
    finding_apply_fix,
    findings_fix_group,
    message_edit,
    message_exclude,
)


class RejectForm(forms.Form):
    code = forms.ChoiceField(label="Reason", choices=RejectReason.choices)
    reason = forms.CharField(
        label="Comment", widget=forms.Textarea(attrs={"rows": 3}), max_length=2000
    )


class ReassignForm(forms.Form):
    reviewer = forms.ModelChoiceField(queryset=User.objects.none())

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reviewer"].queryset = User.objects.filter(
            is_active=True, is_staff=True, groups__name__in=("reviewer", "operator")
        ).distinct().order_by("username")


HISTORY_ON_SCREEN = 200


def _filters_from(request) -> selectors.QueueFilters:
    client = request.GET.get("client", "")
    return selectors.QueueFilters(
        client_id=int(client) if client.isdigit() else None,
        tier=request.GET.get("tier", "") if request.GET.get("tier") in Tier.values else "",
        rule_code=request.GET.get("kind", "")[:50],
        claimed=request.GET.get("claimed", "")
        if request.GET.get("claimed") in ("claimed", "free")
        else "",
    )


@admin.register(Batch)
class BatchAdmin(ReviewPathMixin, admin.ModelAdmin):
    list_display = (
        "id", "client", "campaign", "status", "size", "blocking", "flagged",
        "entered_review_at", "decided_at",
    )
    list_filter = ("status", "client__tier", "client")
    fields = (
        "client", "campaign", "status", "created_at", "entered_review_at", "decided_at",
        "decided_by", "decision_reason", "send_not_before", "sent_at",
    )
    readonly_fields = fields
    change_form_template = "admin/review/batch/change_form.html"
    change_list_template = "admin/review/batch/change_list.html"
    actions = ["claim_selected", "approve_selected", "reject_selected", "recall_selected"]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("client", "campaign", "decided_by")
            .annotate(
                size=Count("messages", distinct=True),
                blocking=Count(
                    "messages", filter=Q(messages__worst_severity="block"), distinct=True
                ),
                flagged=Count(
                    "messages", filter=Q(messages__worst_severity="review"), distinct=True
                ),
            )
        )

    @admin.display(ordering="size", description="messages")
    def size(self, obj):
        return obj.size

    @admin.display(ordering="blocking", description="blocking")
    def blocking(self, obj):
        return obj.blocking

    @admin.display(ordering="flagged", description="to review")
    def flagged(self, obj):
        return obj.flagged

    def has_add_permission(self, request):
        return False  # batches start from a campaign ("Start a batch")

    def has_delete_permission(self, request, obj=None):
        return False

    def get_urls(self):
        view = self.admin_site.admin_view

        def post(name, func):
            return path(
                f"<int:batch_id>/{name}/",
                view(require_POST(func)),
                name=f"core_batch_{name.replace('-', '_')}",
            )

        return [
            path("queue/", view(self.queue_view), name="core_batch_queue"),
            path("<int:batch_id>/approve/", view(self.approve_view), name="core_batch_approve"),
            path("<int:batch_id>/reject/", view(self.reject_view), name="core_batch_reject"),
            path(
                "<int:batch_id>/fix/<int:finding_id>/",
                view(require_POST(self.fix_view)),
                name="core_batch_fix",
            ),
            post("fix-group", self.fix_group_view),
            post("claim", self.claim_view),
            post("release", self.release_view),
            post("reassign", self.reassign_view),
            post("recall", self.recall_view),
            path(
                "<int:batch_id>/audit.csv", view(self.audit_csv_view), name="core_batch_audit_csv"
            ),
        ] + self.path_urls() + super().get_urls()

    # --- The queue ----------------------------------------------------------------------------

    def queue_view(self, request):
        if not request.user.has_perm("core.view_batch"):
            raise PermissionDenied
        now = timezone.now()
        targets = selectors.sla_targets()
        filters = _filters_from(request)
        batches = selectors.queue_batches(filters=filters, now=now, targets=targets)
        page = Paginator(batches, settings.REVIEW_QUEUE_PAGE_SIZE).get_page(request.GET.get("page"))
        rows = list(page.object_list)
        selectors.annotate_queue_page(batches=rows, now=now, targets=targets)
        query = request.GET.copy()
        query.pop("page", None)
        context = {
            **self.admin_site.each_context(request),
            "title": "Review queue",
            "opts": self.model._meta,
            "page": page,
            "rows": rows,
            "filters": filters,
            "clients": Client.objects.order_by("name").values_list("pk", "name"),
            "tiers": Tier.choices,
            "kinds": ValidationRule.objects.order_by("code").values_list("code", flat=True),
            "query": query.urlencode(),
        }
        return TemplateResponse(request, "admin/review/batch/queue.html", context)

    # --- The review screen --------------------------------------------------------------------

    def change_view(self, request, object_id, form_url="", extra_context=None):
        if not str(object_id).isdigit():
            # Not an id: the admin's own "doesn't exist" answer (a redirect with a message).
            return super().change_view(request, object_id, form_url, extra_context)
        batch_id = int(object_id)
        now = timezone.now()
        page = selectors.review_page(batch_id=batch_id, page_number=request.GET.get("page"))
        for message in page.object_list:
            # In reading order: the recipient, the subject, then the body from the top.
            findings = sorted(message.findings.all(), key=_reading_order)
            message.subject_html = selectors.highlight(
                text=message.subject, findings=[f for f in findings if f.field == "subject"]
            )
            message.body_html = selectors.highlight(
                text=message.body, findings=[f for f in findings if f.field == "body"]
            )
            for finding in findings:
                finding.preview = selectors.finding_preview(finding, message)
            message.findings_list = findings
        status = Batch.objects.filter(pk=batch_id).values_list("status", flat=True).first()
        rounds = list(
            ReviewRound.objects.filter(batch_id=batch_id)
            .select_related("decided_by")
            .order_by("number")
        )
        groups = selectors.finding_groups(batch_id=batch_id)
        selectors.group_samples(groups=groups)
        for group in groups:
            group["key"] = json.dumps(
                [group["rule_code"], group["field"], group["text"], group["suggestion"]]
            )
        extra = {
            "page": page,
            "finding_groups": groups,
            # The newest events only: a bulk fix of 20k messages writes 20k; the CSV has all.
            "events": selectors.recent_batch_events(batch_id=batch_id, limit=HISTORY_ON_SCREEN),
            "events_total": selectors.batch_events(batch_id=batch_id).count(),
            "rounds": rounds,
            "rounds_total": _rounds_total(rounds),
            "claim": selectors.batch_claim_state(batch_id=batch_id, now=now),
            "reject_form": RejectForm(),
            "reassign_form": ReassignForm()
            if request.user.has_perm("review.reassign_claim")
            else None,
            "can_decide": request.user.has_perm("core.change_batch"),
            "in_review": status == BatchStatus.IN_REVIEW,
            "approved": status == BatchStatus.APPROVED,
            "needs_attention": status == BatchStatus.NEEDS_ATTENTION,
            "withdrawn": (
                selectors.batch_events(batch_id=batch_id)
                .filter(action=AuditAction.BATCH_WITHDRAWN).last()
                if status == BatchStatus.WITHDRAWN else None
            ),
            # Served by the (batch, send_status, id) index: cheap even for a big batch.
            "unknown_sends": Message.objects.filter(
                batch_id=batch_id, send_status=SendStatus.UNKNOWN
            ).count(),
        }
        extra.update(self.path_context(batch_id))
        return super().change_view(request, object_id, form_url, {**extra, **(extra_context or {})})

    def get_object(self, request, object_id, from_field=None):
        # The review screen needs the batch, not the changelist's message counts (which would
        # aggregate every message of a 50k-message batch again).
        if not str(object_id).isdigit():
            return None
        return (
            Batch.objects.select_related("client", "campaign", "decided_by")
            .filter(pk=object_id)
            .first()
        )

    def _decide(
        self, request, batch_id: int, decide, *, claim: bool = True
    ) -> HttpResponseRedirect:
        """Run a reviewer's action: claim the batch first (a reviewer works only what they hold),
        then the service. A refusal or a lost race is said plainly; the page reloads as it is."""
        if not request.user.has_perm("core.change_batch"):
            raise PermissionDenied
        get_object_or_404(Batch.objects.only("pk"), pk=batch_id)  # a batch that is not there: 404
        try:
            if claim and batch_claim(batch_id=batch_id, actor=request.user):
                self.message_user(request, f"You now hold batch {batch_id}.")
            decide()
        except ServiceError as exc:
            self.message_user(request, str(exc), level=messages.ERROR)
        return HttpResponseRedirect(self._back(request, batch_id))

    def _back(self, request, batch_id: int) -> str:
        url = reverse("admin:core_batch_change", args=[batch_id])
        page = request.POST.get("page", "")
        url = f"{url}?page={page}" if page.isdigit() else url
        # Back to where the reviewer was ("message-12", "group-3"), for the keyboard's place.
        at = request.POST.get("at", "")
        return f"{url}#{at}" if re.fullmatch(r"(message|group)-\d{1,19}", at) else url

    def claim_view(self, request, batch_id: int):
        return self._decide(request, batch_id, lambda: None)

    def release_view(self, request, batch_id: int):
        def decide():
            claim_release(batch_id=batch_id, actor=request.user)
            self.message_user(request, f"Batch {batch_id} released.")

        return self._decide(request, batch_id, decide, claim=False)

    def reassign_view(self, request, batch_id: int):
        if not request.user.has_perm("review.reassign_claim"):
            raise PermissionDenied
        form = ReassignForm(request.POST)
        if not form.is_valid():
            self.message_user(request, "Choose a reviewer.", level=messages.ERROR)
            return HttpResponseRedirect(self._back(request, batch_id))
        reviewer = form.cleaned_data["reviewer"]

        def decide():
            claim_reassign(batch_id=batch_id, actor=request.user, to_user=reviewer)
            self.message_user(request, f"Batch {batch_id} now held by {reviewer.get_username()}.")

        return self._decide(request, batch_id, decide, claim=False)

    def approve_view(self, request, batch_id: int):
        if request.method != "POST":
            return HttpResponseRedirect(reverse("admin:core_batch_change", args=[batch_id]))

        def decide():
            batch_approve(batch_id=batch_id, actor=request.user)
            self.message_user(
                request, f"Batch {batch_id} approved: sending starts in "
                f"{settings.REVIEW_GRACE_SECONDS} s unless recalled."
            )

        return self._decide(request, batch_id, decide)

    def reject_view(self, request, batch_id: int):
        get_object_or_404(Batch.objects.only("pk"), pk=batch_id)
        form = RejectForm(request.POST or None)
        if request.method != "POST" or not form.is_valid():
            self.message_user(
                request, "Choose a reason and say why to reject the batch.", level=messages.ERROR
            )
            return HttpResponseRedirect(reverse("admin:core_batch_change", args=[batch_id]))

        def decide():
            batch_reject(
                batch_id=batch_id, actor=request.user, reason=form.cleaned_data["reason"],
                code=form.cleaned_data["code"],
            )
            self.message_user(request, f"Batch {batch_id} rejected.")

        return self._decide(request, batch_id, decide)

    def recall_view(self, request, batch_id: int):
        def decide():
            batch_recall(
                batch_id=batch_id, actor=request.user, reason=request.POST.get("reason", "")
            )
            self.message_user(request, f"Batch {batch_id} recalled to the review queue.")

        return self._decide(request, batch_id, decide, claim=False)

    def fix_view(self, request, batch_id: int, finding_id: int):
        def decide():
            worst = finding_apply_fix(finding_id=finding_id, actor=request.user)
            self.message_user(
                request, f"Fix applied and re-validated: {worst or 'no findings'}.",
                level=revalidated_level(worst),
            )

        return self._decide(request, batch_id, decide)

    def fix_group_view(self, request, batch_id: int):
        """Apply one group's fix to all its messages, or (apply_selected) to the ticked ones."""
        raw = request.POST.get("apply") or request.POST.get("apply_selected") or ""
        try:
            rule_code, field, text, suggestion = json.loads(raw)
            group = FindingGroup(rule_code=rule_code, field=field, text=text, suggestion=suggestion)
        except (ValueError, TypeError):
            self.message_user(request, "Choose a group of findings to fix.", level=messages.ERROR)
            return HttpResponseRedirect(self._back(request, batch_id))
        selected = None
        if request.POST.get("apply_selected"):
            selected = [int(v) for v in request.POST.getlist("message_ids") if v.isdigit()]
            if not selected:
                self.message_user(request, "Tick the messages to fix first.", level=messages.ERROR)
                return HttpResponseRedirect(self._back(request, batch_id))

        def decide():
            result = findings_fix_group(
                batch_id=batch_id, actor=request.user, group=group, message_ids=selected
            )
            self.message_user(request, _bulk_fix_text(result), level=_bulk_fix_level(result))

        return self._decide(request, batch_id, decide)

    def audit_csv_view(self, request, batch_id: int):
        if not request.user.has_perm("core.view_auditevent"):
            raise PermissionDenied
        get_object_or_404(Batch, pk=batch_id)
        writer = csv.writer(_Echo())
        rows = itertools.chain(
            [selectors.AUDIT_CSV_HEADER], selectors.audit_csv_rows(batch_id=batch_id)
        )
        response = StreamingHttpResponse(
            (writer.writerow(row) for row in rows), content_type="text/csv"
        )
        response["Content-Disposition"] = f'attachment; filename="batch-{batch_id}-audit.csv"'
        return response

    # --- Bulk actions: one service call (and one audit event) per batch -----------------------

    def _each(self, request, queryset, act, done: str):
        for batch_id in queryset.values_list("pk", flat=True):
            try:
                act(batch_id)
                self.message_user(request, f"Batch {batch_id} {done}.")
            except ServiceError as exc:
                self.message_user(request, f"Batch {batch_id}: {exc}", level=messages.ERROR)

    @admin.action(description="Claim selected batches", permissions=["change"])
    def claim_selected(self, request, queryset):
        self._each(
            request, queryset, lambda pk: batch_claim(batch_id=pk, actor=request.user), "claimed"
        )

    @admin.action(description="Approve selected batches", permissions=["change"])
    def approve_selected(self, request, queryset):
        self._each(
            request, queryset, lambda pk: batch_approve(batch_id=pk, actor=request.user), "approved"
        )

    @admin.action(description="Reject selected batches", permissions=["change"])
    def reject_selected(self, request, queryset):
        """One reason for all of them, asked on a page of its own; then one batch_reject (and
        one audit event) per batch, each told apart when it is refused."""
        form = RejectForm(request.POST if "apply" in request.POST else None)
        if form.is_valid():
            data = form.cleaned_data
            self._each(request, queryset, lambda pk: batch_reject(
                batch_id=pk, actor=request.user, reason=data["reason"], code=data["code"]
            ), "rejected")
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": "Reject the selected batches",
            "opts": self.model._meta,
            "form": form,
            "batches": queryset.order_by("pk"),
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/review/batch/reject_selected.html", context)

    @admin.action(description="Recall selected batches to the queue", permissions=["change"])
    def recall_selected(self, request, queryset):
        self._each(
            request, queryset, lambda pk: batch_recall(batch_id=pk, actor=request.user), "recalled"
        )


FIELD_ORDER = {"email": 0, "subject": 1, "body": 2}


def _reading_order(finding) -> tuple:
    return FIELD_ORDER.get(finding.field, 3), finding.start or 0


def _bulk_fix_text(result: BulkFixResult) -> str:
    text = f"Fix applied to {result.fixed} message(s) and re-validated."
    if result.without:
        text += (f" {result.without} ticked message(s) have no such finding: left alone.")
    if result.skipped:
        text += f" {result.skipped} changed meanwhile and were left alone."
    return text


def _bulk_fix_level(result: BulkFixResult) -> int:
    if result.fixed == 0:
        return messages.ERROR
    return messages.WARNING if result.without or result.skipped else messages.SUCCESS


def _rounds_total(rounds: list[ReviewRound]) -> dict | None:
    """Time in review of the whole batch: its decided rounds added up."""
    decided = [r for r in rounds if r.decided_at is not None]
    if len(rounds) < 2 or not decided:
        return None
    return {
        "waiting": sum(r.waiting_seconds for r in decided),
        "handling": sum(r.handling_seconds for r in decided),
        "total": sum(r.total_seconds for r in decided),
    }


class _Echo:
    """csv.writer target that hands each row back, for streaming."""

    def write(self, value):
        return value


class MessageEditForm(forms.ModelForm):
    # The content the reviewer saw: an edit of content someone changed meanwhile is refused.
    seen_hash = forms.CharField(widget=forms.HiddenInput)

    class Meta:
        model = Message
        fields = ("subject", "body")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["seen_hash"].initial = self.instance.content_hash


class ExcludeForm(forms.Form):
    reason = forms.CharField(max_length=2000)


@admin.register(Message)
class MessageAdmin(SavedByServiceAdmin):
    form = MessageEditForm
    list_display = (
        "id",
        "batch",
        "recipient",
        "subject",
        "worst_severity",
        "excluded",
        "send_status",
    )
    list_filter = ("worst_severity", "excluded", "send_status")
    list_select_related = ("batch", "batch__campaign")
    search_fields = ("recipient", "subject")
    readonly_fields = (
        "batch", "prospect", "recipient", "content_hash", "validated_at", "worst_severity",
        "excluded", "exclusion_reason", "approved_hash", "approved_at", "send_status", "sent_at",
        "findings_summary",
    )
    change_form_template = "admin/review/message/change_form.html"

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="findings")
    def findings_summary(self, obj):
        return (
            "; ".join(
                f"{f.severity}: {f.rule_code} in {f.field} — {f.explanation}"
                for f in obj.findings.all()
            )
            or "none"
        )

    def get_urls(self):
        exclude = self.admin_site.admin_view(require_POST(self.exclude_view))
        own = [path("<int:message_id>/exclude/", exclude, name="core_message_exclude")]
        return own + super().get_urls()

    def change_view(self, request, object_id, form_url="", extra_context=None):
        message = Message.objects.filter(pk=object_id).first() if str(object_id).isdigit() else None
        extra = {}
        if message is not None:
            generated = selectors.generated_text(message=message)
            extra = {
                "subject_diff": selectors.diff_lines(
                    before=generated["subject"], after=message.subject
                ),
                "body_diff": selectors.diff_lines(before=generated["body"], after=message.body),
                "edited": generated != {"subject": message.subject, "body": message.body},
            }
        return super().change_view(request, object_id, form_url, {**extra, **(extra_context or {})})

    def save_model(self, request, obj, form, change):
        # A reviewer edits only a batch they hold: claim it (or keep it) first.
        batch_claim(batch_id=obj.batch_id, actor=request.user)
        # The service edits, re-validates and audits; the admin never saves the row itself.
        worst = message_edit(
            message_id=obj.pk, actor=request.user, subject=form.cleaned_data["subject"],
            body=form.cleaned_data["body"], expected_hash=form.cleaned_data["seen_hash"],
        )
        self.message_user(
            request, f"Re-validated: {worst or 'no findings'}.", level=revalidated_level(worst)
        )

    def exclude_view(self, request, message_id: int):
        if not request.user.has_perm("core.change_message"):
            raise PermissionDenied
        message = get_object_or_404(Message, pk=message_id)
        form = ExcludeForm(request.POST)
        if not form.is_valid():
            self.message_user(
                request, "Give a reason to exclude the message.", level=messages.ERROR
            )
        else:
            try:
                batch_claim(batch_id=message.batch_id, actor=request.user)
                message_exclude(
                    message_id=message_id, actor=request.user, reason=form.cleaned_data["reason"]
                )
                self.message_user(request, f"Message {message_id} excluded.")
            except ServiceError as exc:
                self.message_user(request, str(exc), level=messages.ERROR)
        return HttpResponseRedirect(reverse("admin:core_batch_change", args=[message.batch_id]))
