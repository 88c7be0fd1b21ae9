"""Operators reconcile the sends whose outcome is unknown: the evidence (every attempt, the
Message-ID to look for in the mail server's log) and two audited decisions, sent or resend."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied

from apps.core.errors import ServiceError
from apps.core.models import DeliveryAttempt, SendStatus
from apps.sending.models import DomainRateLimit, SendDeferral, SendWindow, UnknownSend
from apps.sending.services import RESOLVE_RESEND, RESOLVE_SENT, unknown_resolve


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
    list_display = ("pk", "recipient", "batch", "message_id_header", "send_claimed_at")
    list_select_related = ("batch__campaign",)
    search_fields = ("recipient",)
    fields = ("recipient", "subject", "body", "batch", "message_id_header", "send_status",
              "send_claimed_at", "approved_at")
    readonly_fields = fields
    inlines = [AttemptInline]
    actions = ["resolve_as_sent", "resend"]

    def get_queryset(self, request):
        return super().get_queryset(request).filter(send_status=SendStatus.UNKNOWN)

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
