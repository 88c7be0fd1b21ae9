"""The sending stage's staff screens: delivery attempts, suppressions, deferrals, per-domain
limits and send windows, and the reconciling of sends whose outcome is unknown.

Operators reconcile the sends whose outcome is unknown: the evidence (every attempt, the
Message-ID to look for in the mail server's log) and two audited decisions, sent or resend.
Per message from the list, or a batch's at once from its page (UnknownSendAdmin.batch_view)."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Prefetch
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from apps.backoffice.admin._base import ReadOnlyAdmin
from apps.core.errors import ServiceError
from apps.core.models import Batch, DeliveryAttempt, Message, SendStatus, Suppression
from apps.sending.models import DomainRateLimit, SendDeferral, SendWindow, UnknownSend
from apps.sending.unknown_sends import (
    RESOLVE_RESEND,
    RESOLVE_SENT,
    unknown_resolve,
    unknown_resolve_many,
)

UNKNOWN_PER_PAGE = 100


class ResolveForm(forms.Form):
    decision = forms.ChoiceField(choices=[
        (RESOLVE_SENT, "Sent: the server's log shows it arrived"),
        (RESOLVE_RESEND, "Send again: the server's log shows it never arrived"),
    ], widget=forms.RadioSelect)
    note = forms.CharField(
        max_length=2000, widget=forms.TextInput(attrs={"size": 60}),
        help_text="What the evidence showed (kept in the audit trail).",
    )
    scope = forms.ChoiceField(choices=[("ticked", "the ticked messages"), ("all", "all of them")])
    # "all": how many the page showed, so that "all" never covers a message nobody saw.
    expected = forms.IntegerField(min_value=0, required=False)


class AttemptInline(admin.TabularInline):
    model = DeliveryAttempt
    fields = ("started_at", "finished_at", "outcome", "smtp_code", "detail", "message_id_header")
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ("started_at",)

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(UnknownSend)
class UnknownSendAdmin(admin.ModelAdmin):
    list_display = (
        "pk",
        "recipient",
        "batch",
        "batch_page",
        "message_id_header",
        "send_claimed_at",
    )
    list_select_related = ("batch__campaign",)
    search_fields = ("recipient",)
    fields = ("recipient", "subject", "body", "batch", "message_id_header", "send_status",
              "send_claimed_at", "approved_at")
    readonly_fields = fields
    inlines = [AttemptInline]
    actions = ["resolve_as_sent", "resend"]

    def get_queryset(self, request):
        return super().get_queryset(request).filter(send_status=SendStatus.UNKNOWN)

    @admin.display(description="resolve")
    def batch_page(self, obj):
        url = reverse("admin:sending_unknownsend_batch", args=[obj.batch_id])
        return format_html('<a href="{}">batch {} with its evidence</a>', url, obj.batch_id)

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("batch/<int:batch_id>/", view(self.batch_view), name="sending_unknownsend_batch"),
        ] + super().get_urls()

    # --- A batch's unknown sends, with the evidence, resolved together ------------------------

    def batch_view(self, request, batch_id: int):
        if not request.user.has_perm("sending.view_unknownsend"):
            raise PermissionDenied
        batch = get_object_or_404(Batch.objects.select_related("client", "campaign"), pk=batch_id)
        unknown = Message.objects.filter(batch_id=batch_id, send_status=SendStatus.UNKNOWN)
        if request.method == "POST":
            return self._resolve_batch(request, batch_id, unknown)
        attempts = DeliveryAttempt.objects.order_by("started_at", "pk")
        page = Paginator(
            unknown.order_by("pk").prefetch_related(Prefetch("attempts", queryset=attempts)),
            UNKNOWN_PER_PAGE,
        ).get_page(request.GET.get("page"))
        context = {
            **self.admin_site.each_context(request),
            "title": f"Batch {batch.pk}: sends whose outcome is unknown",
            "opts": self.model._meta,
            "batch": batch,
            "page": page,
            "form": ResolveForm(initial={"scope": "ticked", "expected": page.paginator.count}),
            "can_resolve": request.user.has_perm("sending.resolve_unknownsend"),
        }
        return TemplateResponse(request, "admin/sending/unknownsend/batch.html", context)

    def _resolve_batch(self, request, batch_id: int, unknown):
        if not request.user.has_perm("sending.resolve_unknownsend"):
            raise PermissionDenied
        back = HttpResponseRedirect(reverse("admin:sending_unknownsend_batch", args=[batch_id]))
        form = ResolveForm(request.POST)
        if not form.is_valid():
            problems = "; ".join(
                f"{name}: {' '.join(map(str, errors))}" for name, errors in form.errors.items()
            )
            self.message_user(request, f"Choose sent or send again and say why ({problems}).",
                              level=messages.ERROR)
            return back
        data = form.cleaned_data
        if data["scope"] == "all":
            ids = list(unknown.values_list("pk", flat=True))
            if len(ids) != data["expected"]:
                self.message_user(
                    request, f"The batch has {len(ids)} unknown sends now, not the "
                    f"{data['expected']} on your page: someone else resolved some meanwhile. "
                    "Nothing was changed; look again.", level=messages.ERROR,
                )
                return back
        else:
            ids = [int(v) for v in request.POST.getlist("message_ids") if v.isdigit()]
            # Only this batch's messages: a forged id of another batch resolves nothing.
            ids = list(
                Message.objects.filter(batch_id=batch_id, pk__in=ids).values_list("pk", flat=True)
            )
        if not ids:
            self.message_user(request, "Tick the messages to resolve first.", level=messages.ERROR)
            return back
        try:
            done = unknown_resolve_many(message_ids=ids, actor=request.user,
                                        decision=data["decision"], note=data["note"])
        except ServiceError as exc:
            self.message_user(request, f"Nothing was changed: {exc}", level=messages.ERROR)
            return back
        what = "resolved as sent" if data["decision"] == RESOLVE_SENT else "queued to be sent again"
        self.message_user(request, f"{done} message(s) {what}.")
        return back

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False  # decisions go through the actions, which call the service

    def has_delete_permission(self, request, obj=None):
        return False

    def _resolve(self, request, queryset, decision: str) -> None:
        if not request.user.has_perm("sending.resolve_unknownsend"):
            raise PermissionDenied
        done = 0
        for message_id in queryset.values_list("pk", flat=True):
            try:
                unknown_resolve(message_id=message_id, actor=request.user, decision=decision)
                done += 1
            except ServiceError as exc:
                self.message_user(request, f"Message {message_id}: {exc}", level=messages.ERROR)
        if done:
            self.message_user(request, f"{done} message(s) resolved: {decision}.")

    @admin.action(description="Resolve as sent (the server's log shows it)")
    def resolve_as_sent(self, request, queryset):
        self._resolve(request, queryset, RESOLVE_SENT)

    @admin.action(description="Send again (the server's log shows it never arrived)")
    def resend(self, request, queryset):
        self._resolve(request, queryset, RESOLVE_RESEND)


@admin.register(SendDeferral)
class SendDeferralAdmin(admin.ModelAdmin):
    list_display = ("message", "temporary_failures", "not_before", "last_reply")
    readonly_fields = ("message", "temporary_failures", "not_before", "last_reply")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(DomainRateLimit)
class DomainRateLimitAdmin(admin.ModelAdmin):
    list_display = ("domain", "per_minute", "per_day")
    search_fields = ("domain",)


@admin.register(SendWindow)
class SendWindowAdmin(admin.ModelAdmin):
    list_display = ("client", "days", "start", "end", "time_zone")
    list_select_related = ("client",)


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
