"""The planning room's records: the operator-maintained reviewer roster (regular weekly shifts
and dated exceptions), each tier's published commitment, and the latest quote per batch.

All hours are UTC. Written by apps/planning/services.py and the admin (the roster is
configuration an operator keeps, like the SLA targets).
"""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from apps.core.models import Batch, Tier


class Weekday(models.IntegerChoices):
    MONDAY = 0, "Monday"
    TUESDAY = 1, "Tuesday"
    WEDNESDAY = 2, "Wednesday"
    THURSDAY = 3, "Thursday"
    FRIDAY = 4, "Friday"
    SATURDAY = 5, "Saturday"
    SUNDAY = 6, "Sunday"


HOUR_OF_DAY = [
    MinValueValidator(0, "An hour is 0 to 24."), MaxValueValidator(24, "An hour is 0 to 24.")
]


class Shift(models.Model):
    """One reviewer's regular review hours on one weekday: from start_hour to end_hour UTC."""

    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="review_shifts"
    )
    weekday = models.PositiveSmallIntegerField(choices=Weekday.choices)
    start_hour = models.PositiveSmallIntegerField(validators=HOUR_OF_DAY)
    end_hour = models.PositiveSmallIntegerField(validators=HOUR_OF_DAY)

    class Meta:
        ordering = ["weekday", "start_hour", "reviewer_id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(start_hour__lt=models.F("end_hour"), end_hour__lte=24),
                name="shift_hours_in_order",
                violation_error_message="A shift starts before it ends, within 0 to 24 h.",
            ),
        ]

    def __str__(self) -> str:
        hours = f"{self.start_hour:02d}-{self.end_hour:02d}"
        return f"{self.reviewer} {self.get_weekday_display()} {hours}"


class ExceptionKind(models.TextChoices):
    OFF = "off", "Not reviewing (holiday, absence)"
    EXTRA = "extra", "Extra shift"


class RosterException(models.Model):
    """A dated change to the weekly roster. "off" takes the hours away (a reviewer's absence, or
    everyone's when no reviewer is named: a public holiday); "extra" adds a shift."""

    date = models.DateField()
    kind = models.CharField(max_length=10, choices=ExceptionKind.choices)
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE,
        related_name="roster_exceptions", help_text="Empty: every reviewer (a holiday).",
    )
    start_hour = models.PositiveSmallIntegerField(default=0, validators=HOUR_OF_DAY)
    end_hour = models.PositiveSmallIntegerField(default=24, validators=HOUR_OF_DAY)
    note = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["date", "start_hour"]
        indexes = [models.Index(fields=["date"])]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(start_hour__lt=models.F("end_hour"), end_hour__lte=24),
                name="roster_exception_hours_in_order",
                violation_error_message="An exception starts before it ends, within 0 to 24 h.",
            ),
            models.CheckConstraint(
                condition=~models.Q(kind="extra", reviewer__isnull=True),
                name="roster_extra_shift_names_reviewer",
                violation_error_message="An extra shift names the reviewer who works it.",
            ),
        ]

    def __str__(self) -> str:
        who = self.reviewer or "everyone"
        return f"{self.date} {self.kind} {who} {self.start_hour:02d}-{self.end_hour:02d}"


class ReviewerCost(models.Model):
    """What one reviewer-hour costs, as the operators set it: the capacity plan prices each
    tier's target and one more point of it with this. One row; the admin edits it."""

    hourly_cost = models.DecimalField(
        max_digits=8, decimal_places=2, default=40,
        validators=[MinValueValidator(Decimal("0.01"), "An hour of review costs more than 0.")],
    )
    currency = models.CharField(max_length=3, default="EUR", help_text="ISO 4217, e.g. EUR.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "reviewer hourly cost"
        permissions = [("view_capacity", "Can view the capacity view and the capacity plan")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(hourly_cost__gt=0), name="reviewer_cost_positive",
                violation_error_message="An hour of review costs more than 0.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.hourly_cost} {self.currency} per reviewer-hour"


class Commitment(models.Model):
    """What a tier's SLA target covers, as published to clients: the hours the clock runs in,
    and the size past which a batch goes to the extended commitment (its own, longer target)."""

    tier = models.CharField(max_length=20, choices=Tier.choices, unique=True)
    covered_from_hour = models.PositiveSmallIntegerField(default=0, validators=HOUR_OF_DAY)
    covered_to_hour = models.PositiveSmallIntegerField(default=24, validators=HOUR_OF_DAY)
    weekdays_only = models.BooleanField(default=False)
    extended_over_messages = models.PositiveIntegerField(
        null=True, blank=True, help_text="Batches with more messages get the extended target."
    )
    extended_target_minutes = models.PositiveIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1, "A target is at least 1 minute.")]
    )
    extended_target_pct = models.PositiveSmallIntegerField(
        default=95, validators=[MinValueValidator(1), MaxValueValidator(100)]
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(
                    covered_from_hour__lt=models.F("covered_to_hour"), covered_to_hour__lte=24
                ),
                name="commitment_hours_in_order",
                violation_error_message="Covered hours start before they end, within 0 to 24 h.",
            ),
            models.CheckConstraint(
                condition=models.Q(extended_over_messages__isnull=True)
                | models.Q(extended_target_minutes__isnull=False),
                name="commitment_extended_has_target",
                violation_error_message="An extended size needs its own target.",
            ),
        ]

    def __str__(self) -> str:
        return f"Commitment for {self.get_tier_display()}"


class BatchQuote(models.Model):
    """The latest quote for a batch in review, and the first one it was given on entering
    review (kept for the record: the backtest and the client compare against it)."""

    batch = models.OneToOneField(Batch, on_delete=models.CASCADE, related_name="quote")
    round_number = models.PositiveIntegerField()
    first_quoted_at = models.DateTimeField()
    first_expected_at = models.DateTimeField()
    # The simulated wait behind the first quote before calibration, while someone is on shift
    # and with nobody on shift: what calibration learns from.
    first_simulated_seconds = models.FloatField(null=True, blank=True)
    first_off_shift_seconds = models.FloatField(default=0)
    computed_at = models.DateTimeField()
    expected_at = models.DateTimeField()
    changed_at = models.DateTimeField(help_text="When the expected time last moved.")
    position = models.PositiveIntegerField()
    queue_length = models.PositiveIntegerField()
    explanation = models.TextField()

    def __str__(self) -> str:
        return f"Batch {self.batch_id} expected by {self.expected_at:%Y-%m-%d %H:%M}"
