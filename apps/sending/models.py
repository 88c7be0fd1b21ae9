"""Sending's own rows, beside the core Message (which this app does not change)."""

from django.db import models

from apps.core.models import Message


class SendDeferral(models.Model):
    """A message the server answered 4xx for: back in the queue, not before `not_before`.

    Kept beside the message so that the claim can skip it until then and the backoff can grow
    with each temporary failure."""

    message = models.OneToOneField(Message, on_delete=models.CASCADE, related_name="deferral")
    temporary_failures = models.PositiveIntegerField(default=0)
    not_before = models.DateTimeField()
    last_reply = models.TextField(blank=True)

    def __str__(self) -> str:
        return f"{self.message_id} deferred until {self.not_before:%Y-%m-%d %H:%M:%S}"


class UnknownSend(Message):
    """The admin's view of messages whose send outcome is unknown, for an operator to resolve."""

    class Meta:
        proxy = True
        verbose_name = "unknown send (needs a person)"
        verbose_name_plural = "unknown sends (need a person)"
        permissions = [("resolve_unknownsend", "Can resolve unknown sends (as sent or resend)")]


class DomainRateLimit(models.Model):
    """Operators cap how fast one sending domain sends, across every worker (counted in Redis).
    Empty means no cap."""

    domain = models.CharField(max_length=253, unique=True, help_text="the sender's domain, e.g. acme.com")
    per_minute = models.PositiveIntegerField(null=True, blank=True)
    per_day = models.PositiveIntegerField(null=True, blank=True)

    def clean(self):
        self.domain = self.domain.strip().lower()

    def __str__(self) -> str:
        return f"{self.domain}: {self.per_minute or '∞'}/min, {self.per_day or '∞'}/day"


WEEKDAYS = "mon,tue,wed,thu,fri,sat,sun"


class SendWindow(models.Model):
    """When a client's mail may go out: these weekdays, between these hours, in its time zone.
    A client without a window sends at any time."""

    client = models.OneToOneField("core.Client", on_delete=models.CASCADE, related_name="send_window")
    days = models.CharField(max_length=40, default="mon,tue,wed,thu,fri",
                            help_text=f"comma-separated, from {WEEKDAYS}")
    start = models.TimeField(help_text="local time the window opens")
    end = models.TimeField(help_text="local time the window closes (after start)")
    time_zone = models.CharField(max_length=64, default="UTC", help_text="e.g. Europe/Berlin")

    def clean(self):
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        from django.core.exceptions import ValidationError

        errors = {}
        unknown = [d for d in self.day_list() if d not in WEEKDAYS.split(",")]
        if unknown or not self.day_list():
            errors["days"] = f"use days from {WEEKDAYS}"
        try:
            ZoneInfo(self.time_zone)
        except (ZoneInfoNotFoundError, ValueError):
            errors["time_zone"] = f"unknown time zone {self.time_zone!r}"
        if self.start and self.end and self.end <= self.start:
            errors["end"] = "the window must close after it opens"
        if errors:
            raise ValidationError(errors)

    def day_list(self) -> list[str]:
        return [d.strip().lower() for d in self.days.split(",") if d.strip()]

    def __str__(self) -> str:
        return f"{self.client}: {self.days} {self.start:%H:%M}–{self.end:%H:%M} {self.time_zone}"
