"""Sending's own rows, beside the core Message (which this app does not change)."""

import re

from django.core.validators import MinValueValidator
from django.db import models

from apps.core.models import Client, Message


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


class LastContact(models.Model):
    """When a client last sent to an address (lower-cased, trimmed), and from which batch: one
    row per client and address, written with each message recorded as sent (statements.
    RECORD_SENT, services._SentOutcomes, an unknown send resolved as sent). The send-time
    re-contact check reads it by its unique (client, address) index: one lookup a message,
    whatever the length of the client's history."""

    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="+",
                               db_index=False)
    address = models.CharField(max_length=320)
    sent_at = models.DateTimeField()
    batch_id = models.BigIntegerField()  # the batch of that send (the row outlives nothing)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["client", "address"], name="last_contact_once"),
        ]

    def __str__(self) -> str:
        return (
            f"{self.address} last contacted {self.sent_at:%Y-%m-%d %H:%M} (batch {self.batch_id})"
        )


class UnknownSend(Message):
    """The admin's view of messages whose send outcome is unknown, for an operator to resolve."""

    class Meta:
        proxy = True
        verbose_name = "unknown send (needs a person)"
        verbose_name_plural = "unknown sends (need a person)"
        permissions = [("resolve_unknownsend", "Can resolve unknown sends (as sent or resend)")]


DOMAIN = re.compile(r"(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}")
ZERO_IS_NO_CAP = ("0 would mean no cap at all (the counter treats 0 as none); leave it empty "
                  "for no cap, or give at least 1.")


class DomainRateLimit(models.Model):
    """Operators cap how fast one sending domain sends, across every worker (counted in Redis).
    Empty means no cap; 0 is refused, since the counter would read it as no cap too."""

    domain = models.CharField(
        max_length=253, unique=True, help_text="the sender's domain, e.g. acme.com"
    )
    per_minute = models.PositiveIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1, ZERO_IS_NO_CAP)],
        help_text="messages a minute; empty: no cap",
    )
    per_day = models.PositiveIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1, ZERO_IS_NO_CAP)],
        help_text="messages a day; empty: no cap",
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(per_minute__isnull=True) | models.Q(per_minute__gte=1),
                name="domainratelimit_per_minute_positive",
                violation_error_message="A rate limit is empty (no cap) or at least 1.",
            ),
            models.CheckConstraint(
                condition=models.Q(per_day__isnull=True) | models.Q(per_day__gte=1),
                name="domainratelimit_per_day_positive",
                violation_error_message="A rate limit is empty (no cap) or at least 1.",
            ),
            models.CheckConstraint(
                condition=~models.Q(domain=""), name="domainratelimit_domain_not_empty",
                violation_error_message="Name the sending domain.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.domain}: {self.per_minute or '∞'}/min, {self.per_day or '∞'}/day"

    def clean(self):
        from django.core.exceptions import ValidationError

        self.domain = self.domain.strip().lower().rstrip(".")
        if not DOMAIN.fullmatch(self.domain):
            raise ValidationError({"domain": f"{self.domain!r} is not a domain name: write the "
                                             "part after the @, e.g. acme.com."})


WEEKDAYS = "mon,tue,wed,thu,fri,sat,sun"


class SendWindow(models.Model):
    """When a client's mail may go out: these weekdays, between these hours, in its time zone.
    A client without a window sends at any time."""

    client = models.OneToOneField(
        "core.Client", on_delete=models.CASCADE, related_name="send_window"
    )
    days = models.CharField(max_length=40, default="mon,tue,wed,thu,fri",
                            help_text=f"comma-separated, from {WEEKDAYS}")
    start = models.TimeField(help_text="local time the window opens (00:00–23:59)")
    end = models.TimeField(help_text="local time the window closes, later the same day (a window "
                                     "across midnight is not supported)")
    time_zone = models.CharField(max_length=64, default="UTC", help_text="e.g. Europe/Berlin")

    class Meta:
        constraints = [
            # A window is one stretch of one day: across midnight is not supported (is_open
            # compares start <= now < end), so end <= start would never open.
            models.CheckConstraint(
                condition=models.Q(end__gt=models.F("start")), name="sendwindow_ends_after_start",
                violation_error_message="The window must close after it opens, the same day.",
            ),
            models.CheckConstraint(
                condition=~models.Q(days=""), name="sendwindow_days_not_empty",
                violation_error_message="Name at least one day.",
            ),
            models.CheckConstraint(
                condition=~models.Q(time_zone=""), name="sendwindow_time_zone_not_empty",
                violation_error_message="Name a time zone, e.g. Europe/Berlin.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.client}: {self.days} {self.start:%H:%M}–{self.end:%H:%M} {self.time_zone}"

    def clean(self):
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        from django.core.exceptions import ValidationError

        errors = {}
        unknown = [d for d in self.day_list() if d not in WEEKDAYS.split(",")]
        if unknown:
            errors["days"] = (f"Unknown day{'s' if len(unknown) > 1 else ''} "
                              f"{', '.join(map(repr, unknown))}: use days from {WEEKDAYS}.")
        elif not self.day_list():
            errors["days"] = f"Name at least one day, from {WEEKDAYS}."
        else:
            self.days = ",".join(dict.fromkeys(self.day_list()))
        try:
            ZoneInfo(self.time_zone)
        except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a name too long for a path
            errors["time_zone"] = (f"Unknown time zone {self.time_zone!r}: use a name from the "
                                   "tz database, e.g. Europe/Berlin or America/New_York.")
        if self.start and self.end and self.end <= self.start:
            errors["end"] = ("The window must close after it opens, the same day (a window "
                             "across midnight is not supported).")
        if errors:
            raise ValidationError(errors)

    def day_list(self) -> list[str]:
        return [d.strip().lower() for d in self.days.split(",") if d.strip()]
