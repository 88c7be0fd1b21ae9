"""The Django admin for reviewers and operators.

Every change of state goes through a service (apps/*/services.py), which writes its audit
event; status fields are read-only everywhere, and no admin form saves a status directly.
"""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.views.decorators.http import require_POST

from apps.core.admin_base import SavedByServiceAdmin
from apps.core.errors import ServiceError
from apps.core.models import (
    AuditEvent, Batch, BatchStatus, Campaign, Client, ClientUser, DeliveryAttempt, Message,
    Prospect, Suppression,
)
from apps.generation.services import batch_start
from apps.review import selectors
from apps.review.services import (
    batch_approve, batch_reject, finding_apply_fix, message_edit, message_exclude,
)

admin.site.site_header = "Outbound review"
admin.site.site_title = "Outbound review"
admin.site.index_title = "Review queue and configuration"


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Client)
class ClientAdmin(admin.ModelAdmin):
    list_display = ("name", "tier", "review_policy", "created_at")
    list_filter = ("tier", "review_policy")
    search_fields = ("name",)


@admin.register(ClientUser)
class ClientUserAdmin(admin.ModelAdmin):
    list_display = ("user", "client")
    list_select_related = ("user", "client")
    autocomplete_fields = ("client",)


class StartBatchForm(forms.Form):
    prospects = forms.ModelMultipleChoiceField(
        queryset=Prospect.objects.none(), widget=forms.CheckboxSelectMultiple
    )

    def __init__(self, *args, campaign: Campaign, **kwargs):
        super().__init__(*args, **kwargs)
        queryset = Prospect.objects.filter(client_id=campaign.client_id).order_by("email")
        self.fields["prospects"].queryset = queryset
        self.fields["prospects"].initial = list(queryset.values_list("pk", flat=True))


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    list_display = ("name", "client", "sender_email", "created_at")
    list_filter = ("client",)
    list_select_related = ("client",)
    search_fields = ("name",)
    change_form_template = "admin/core/campaign/change_form.html"

    def get_urls(self):
        start = self.admin_site.admin_view(self.start_batch_view)
        own = [path("<int:campaign_id>/start-batch/", start, name="core_campaign_start_batch")]
        return own + super().get_urls()

    def start_batch_view(self, request, campaign_id: int):
        if not request.user.has_perm("core.add_batch"):
            raise PermissionDenied
        campaign = get_object_or_404(Campaign.objects.select_related("client"), pk=campaign_id)
        form = StartBatchForm(request.POST or None, campaign=campaign)
        if request.method == "POST" and form.is_valid():
            try:
                batch = batch_start(
                    campaign=campaign, prospects=form.cleaned_data["prospects"], actor=request.user
                )
            except ServiceError as exc:
                form.add_error(None, str(exc))
            else:
                self.message_user(request, f"Batch {batch.pk} started: generating messages.")
                return HttpResponseRedirect(reverse("admin:core_batch_change", args=[batch.pk]))
        context = {
            **self.admin_site.each_context(request),
            "title": f"Start a batch: {campaign}",
            "campaign": campaign,
            "form": form,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/core/campaign/start_batch.html", context)


@admin.register(Prospect)
class ProspectAdmin(admin.ModelAdmin):
    list_display = ("email", "first_name", "last_name", "company", "client")
    list_filter = ("client",)
    list_select_related = ("client",)
    search_fields = ("email", "company", "last_name")


class RejectForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=2000)


@admin.register(Batch)
class BatchAdmin(admin.ModelAdmin):
    list_display = (
        "id", "client", "campaign", "status", "size", "blocking", "flagged",
        "entered_review_at", "decided_at",
    )
    list_filter = ("status", "client__tier", "client")
    fields = (
        "client", "campaign", "status", "created_at", "entered_review_at", "decided_at",
        "decided_by", "decision_reason", "sent_at",
    )
    readonly_fields = fields
    change_form_template = "admin/core/batch/change_form.html"
    actions = ["approve_selected"]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("client", "campaign", "decided_by")
            .annotate(
                size=Count("messages", distinct=True),
                blocking=Count("messages", filter=Q(messages__worst_severity="block"), distinct=True),
                flagged=Count("messages", filter=Q(messages__worst_severity="review"), distinct=True),
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
        return [
            path("<int:batch_id>/approve/", view(self.approve_view), name="core_batch_approve"),
            path("<int:batch_id>/reject/", view(self.reject_view), name="core_batch_reject"),
            path(
                "<int:batch_id>/fix/<int:finding_id>/", view(require_POST(self.fix_view)),
                name="core_batch_fix",
            ),
        ] + super().get_urls()

    def change_view(self, request, object_id, form_url="", extra_context=None):
        batch_id = int(object_id)
        page = selectors.review_page(batch_id, request.GET.get("page"))
        for message in page.object_list:
            findings = list(message.findings.all())
            message.subject_html = selectors.highlight(
                message.subject, [f for f in findings if f.field == "subject"]
            )
            message.body_html = selectors.highlight(
                message.body, [f for f in findings if f.field == "body"]
            )
            message.findings_list = findings
        extra = {
            "page": page,
            "finding_counts": selectors.batch_finding_counts(batch_id),
            "events": selectors.batch_events(batch_id).select_related("actor"),
            "reject_form": RejectForm(),
            "can_decide": request.user.has_perm("core.change_batch"),
            "in_review": Batch.objects.filter(pk=batch_id, status=BatchStatus.IN_REVIEW).exists(),
        }
        return super().change_view(request, object_id, form_url, {**extra, **(extra_context or {})})

    def _decide(self, request, batch_id: int, decide) -> HttpResponseRedirect:
        if not request.user.has_perm("core.change_batch"):
            raise PermissionDenied
        try:
            decide()
        except ServiceError as exc:
            # Lost a race or refused: say why; the page reloads with the current state.
            self.message_user(request, str(exc), level=messages.ERROR)
        return HttpResponseRedirect(reverse("admin:core_batch_change", args=[batch_id]))

    def approve_view(self, request, batch_id: int):
        if request.method != "POST":
            return HttpResponseRedirect(reverse("admin:core_batch_change", args=[batch_id]))

        def decide():
            batch_approve(batch_id=batch_id, actor=request.user)
            self.message_user(request, f"Batch {batch_id} approved: sending will start.")

        return self._decide(request, batch_id, decide)

    def reject_view(self, request, batch_id: int):
        form = RejectForm(request.POST or None)
        if request.method != "POST" or not form.is_valid():
            self.message_user(request, "Give a reason to reject the batch.", level=messages.ERROR)
            return HttpResponseRedirect(reverse("admin:core_batch_change", args=[batch_id]))

        def decide():
            batch_reject(batch_id=batch_id, actor=request.user, reason=form.cleaned_data["reason"])
            self.message_user(request, f"Batch {batch_id} rejected.")

        return self._decide(request, batch_id, decide)

    def fix_view(self, request, batch_id: int, finding_id: int):
        def decide():
            worst = finding_apply_fix(finding_id=finding_id, actor=request.user)
            self.message_user(request, f"Fix applied and re-validated: {worst or 'no findings'}.")

        return self._decide(request, batch_id, decide)

    @admin.action(description="Approve selected batches", permissions=["change"])
    def approve_selected(self, request, queryset):
        # One service call per batch: each writes its own audit event, and each may be refused.
        for batch_id in queryset.values_list("pk", flat=True):
            try:
                batch_approve(batch_id=batch_id, actor=request.user)
                self.message_user(request, f"Batch {batch_id} approved.")
            except ServiceError as exc:
                self.message_user(request, f"Batch {batch_id}: {exc}", level=messages.ERROR)


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
    list_display = ("id", "batch", "recipient", "subject", "worst_severity", "excluded", "send_status")
    list_filter = ("worst_severity", "excluded", "send_status")
    list_select_related = ("batch", "batch__campaign")
    search_fields = ("recipient", "subject")
    readonly_fields = (
        "batch", "prospect", "recipient", "content_hash", "validated_at", "worst_severity",
        "excluded", "exclusion_reason", "approved_hash", "approved_at", "send_status", "sent_at",
        "findings_summary",
    )
    change_form_template = "admin/core/message/change_form.html"

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="findings")
    def findings_summary(self, obj):
        return "; ".join(
            f"{f.severity}: {f.rule_code} in {f.field} — {f.explanation}" for f in obj.findings.all()
        ) or "none"

    def get_urls(self):
        exclude = self.admin_site.admin_view(require_POST(self.exclude_view))
        own = [path("<int:message_id>/exclude/", exclude, name="core_message_exclude")]
        return own + super().get_urls()

    def save_model(self, request, obj, form, change):
        # The service edits, re-validates and audits; the admin never saves the row itself.
        worst = message_edit(
            message_id=obj.pk, actor=request.user, subject=form.cleaned_data["subject"],
            body=form.cleaned_data["body"], expected_hash=form.cleaned_data["seen_hash"],
        )
        self.message_user(request, f"Re-validated: {worst or 'no findings'}.")

    def exclude_view(self, request, message_id: int):
        if not request.user.has_perm("core.change_message"):
            raise PermissionDenied
        message = get_object_or_404(Message, pk=message_id)
        form = ExcludeForm(request.POST)
        if not form.is_valid():
            self.message_user(request, "Give a reason to exclude the message.", level=messages.ERROR)
        else:
            try:
                message_exclude(message_id=message_id, actor=request.user, reason=form.cleaned_data["reason"])
                self.message_user(request, f"Message {message_id} excluded.")
            except ServiceError as exc:
                self.message_user(request, str(exc), level=messages.ERROR)
        return HttpResponseRedirect(reverse("admin:core_batch_change", args=[message.batch_id]))


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "actor_label", "action", "batch", "message", "from_state", "to_state")
    list_filter = ("action",)
    list_select_related = ("batch", "batch__campaign", "message")
    search_fields = ("actor_label", "reason")


@admin.register(DeliveryAttempt)
class DeliveryAttemptAdmin(ReadOnlyAdmin):
    list_display = ("message", "message_id_header", "started_at", "outcome", "smtp_code")
    list_filter = ("outcome",)
    list_select_related = ("message",)
    search_fields = ("message_id_header",)


@admin.register(Suppression)
class SuppressionAdmin(admin.ModelAdmin):
    list_display = ("email", "client", "reason", "created_at")
    list_filter = ("client",)
    list_select_related = ("client",)
    search_fields = ("email",)
    fields = ("client", "email", "reason")

    def has_change_permission(self, request, obj=None):
        return False  # an entry is added or removed, never rewritten
