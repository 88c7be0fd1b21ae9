"""The holding queue's own records: who holds a batch, each review round and its timings,
the SLA target per tier, and the at-risk notices already sent.

Written only by apps/review/services/, in the transaction of the transition they measure.
"""

from datetime import timedelta

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from apps.core.models import Batch, Client, Message, Severity, Tier, ValidationRule


class RejectReason(models.TextChoices):
    OFF_BRAND = "off_brand", "Off-brand tone or content"
    WRONG_AUDIENCE = "wrong_audience", "Wrong audience for this campaign"
    DATA_QUALITY = "data_quality", "Prospect data too poor to send"
    LEGAL = "legal", "Legal or compliance concern"
    OTHER = "other", "Other (say why in the comment)"


# The targets an install starts with (minutes, % of batches), seeded by a migration; the
# review-time chart draws the standard one while no target is set.
DEFAULT_SLA_TARGETS = {Tier.STANDARD: (240, 95), Tier.PRIORITY: (30, 95)}


class SlaTarget(models.Model):
    """An operator's promise for one tier: `target_pct` % of batches decided within
    `target_minutes` of entering review. `at_risk_pct` of the target elapsed → "at risk"."""

    tier = models.CharField(max_length=20, choices=Tier.choices, unique=True)
    # Validated where they are entered (the admin's form runs these) and held by the database
    # (the check constraints below): "150 % within 0 min" is not a target.
    target_minutes = models.PositiveIntegerField(
        validators=[MinValueValidator(1, "A target is at least 1 minute.")]
    )
    target_pct = models.PositiveSmallIntegerField(
        default=95, validators=[
            MinValueValidator(1, "A share of batches is more than 0 %%."),
            MaxValueValidator(100, "A share of batches is at most 100 %%."),
        ],
    )
    at_risk_pct = models.PositiveSmallIntegerField(
        default=75, help_text="Share of the target elapsed after which a batch is at risk.",
        validators=[
            MinValueValidator(1, "At risk is after more than 0 %% of the target."),
            MaxValueValidator(100, "At risk is at most 100 %% of the target."),
        ],
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "SLA target"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(target_minutes__gte=1), name="slatarget_minutes_positive",
                violation_error_message="A target is at least 1 minute.",
            ),
            models.CheckConstraint(
                condition=models.Q(target_pct__gte=1, target_pct__lte=100),
                name="slatarget_pct_in_range",
                violation_error_message="The share of batches is between 1 and 100 %%.",
            ),
            models.CheckConstraint(
                condition=models.Q(at_risk_pct__gte=1, at_risk_pct__lte=100),
                name="slatarget_at_risk_pct_in_range",
                violation_error_message="At risk is between 1 and 100 %% of the target.",
            ),
        ]
        permissions = [
            ("view_review_stats", "Can view review-time statistics"),
            ("reassign_claim", "Can reassign a batch held by another reviewer"),
            ("recall_any_batch", "Can recall a batch someone else approved"),
        ]

    def __str__(self) -> str:
        return f"{self.get_tier_display()}: {self.target_pct}% within {self.target_minutes} min"

    @property
    def target(self) -> timedelta:
        return timedelta(minutes=self.target_minutes)

    @property
    def at_risk_after(self) -> timedelta:
        return self.target * self.at_risk_pct / 100


class Claim(models.Model):
    """Who holds a batch in review now (one row per batch, holder empty when free). Taken and
    handed over with conditional updates; lapses after REVIEW_CLAIM_IDLE_MINUTES idle."""

    batch = models.OneToOneField(Batch, on_delete=models.CASCADE, related_name="claim")
    holder = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    claimed_at = models.DateTimeField(null=True, blank=True)
    last_active_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.batch_id} held by {self.holder or 'nobody'}"


class ReviewRound(models.Model):
    """One stay in the holding queue: entered review → decided (a recall starts the next).

    waiting = first_claimed_at − entered_at; handling = the sum of the claim spans;
    total = decided_at − entered_at. All from django.utils.timezone.now, in UTC."""

    batch = models.ForeignKey(Batch, on_delete=models.CASCADE, related_name="review_rounds")
    number = models.PositiveIntegerField()
    entered_at = models.DateTimeField()
    first_claimed_at = models.DateTimeField(null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    outcome = models.CharField(max_length=20, blank=True)
    handling_seconds = models.FloatField(default=0)
    messages = models.PositiveIntegerField(default=0)
    # Included messages flagged (block or review) when the round began: what the reviewer had
    # to look at, for the handling time per flagged message.
    flagged = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["batch", "number"], name="review_round_once"),
            models.UniqueConstraint(
                fields=["batch"], condition=models.Q(decided_at__isnull=True),
                name="review_round_one_open_per_batch",
            ),
        ]
        indexes = [models.Index(fields=["decided_at"])]

    def __str__(self) -> str:
        return f"Batch {self.batch_id} round {self.number}"

    @property
    def waiting_seconds(self) -> float | None:
        if self.first_claimed_at is None:
            return None
        return (self.first_claimed_at - self.entered_at).total_seconds()

    @property
    def total_seconds(self) -> float | None:
        if self.decided_at is None:
            return None
        return (self.decided_at - self.entered_at).total_seconds()


class ClaimSpan(models.Model):
    """One reviewer's hold on a round: from claiming to deciding, releasing, or lapsing (then it
    ends at the last activity: idle time is not handling time)."""

    round = models.ForeignKey(ReviewRound, on_delete=models.CASCADE, related_name="spans")
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    end_reason = models.CharField(max_length=20, blank=True)

    def __str__(self) -> str:
        return f"{self.reviewer} on {self.round}"


class AtRiskNotice(models.Model):
    """The operators were told this round is at risk; the unique row makes it once."""

    round = models.OneToOneField(
        ReviewRound, on_delete=models.CASCADE, related_name="at_risk_notice"
    )
    sent_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"At-risk notice for {self.round}"


class StatusCheckSource(models.TextChoices):
    PORTAL = "portal", "Portal page"
    API = "api", "API"


class StatusCheck(models.Model):
    """A client looked at a batch waiting in review (a portal page view or an API GET; the
    portal's own background polling is not a look). Read by apps/review/targets.py: a second
    look in the same round is the client chasing. One narrow INSERT per look, nothing read."""

    batch = models.ForeignKey(Batch, on_delete=models.CASCADE, related_name="status_checks",
                              db_index=False)
    checked_at = models.DateTimeField()
    source = models.CharField(max_length=10, choices=StatusCheckSource.choices)

    class Meta:
        indexes = [models.Index(fields=["batch", "checked_at"], name="statuscheck_batch_time")]

    def __str__(self) -> str:
        return f"Batch {self.batch_id} checked {self.checked_at:%Y-%m-%d %H:%M} ({self.source})"


class Disposition(models.TextChoices):
    """How a finding ended: what the reviewer did about it (apps/review/dispositions.py)."""

    FIXED = "fixed", "Fixed by its suggestion"
    EDITED = "edited", "Edited away"
    EXCLUDED = "excluded", "Message excluded"
    APPROVED = "approved", "Approved unchanged"
    REJECTED = "rejected", "Batch rejected"


class FindingDisposition(models.Model):
    """How one finding ended, when and by whom: written once per finding by the review action
    that ended it, in that action's transaction.

    A re-validation deletes and re-creates a message's findings, so this row names the finding
    by its id (no foreign key: the finding row goes, its ending stays) and copies what the rule
    statistics read: the rule, its version and severity, the client and the flagged text."""

    # Unique: whatever two reviewers do at once, a finding ends once. Null only for endings
    # backfilled from the audit trail after the finding row was gone (source_event says which).
    finding_id = models.BigIntegerField(null=True, blank=True, unique=True)
    source_event = models.BigIntegerField(null=True, blank=True, unique=True)
    batch = models.ForeignKey(Batch, on_delete=models.CASCADE, related_name="+", db_index=False)
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="+")
    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="+", db_index=False)
    # The finding's code ("recipient_domain.unknown" is the rule recipient_domain's).
    rule_code = models.CharField(max_length=50)
    rule_version = models.PositiveIntegerField(null=True, blank=True)
    severity = models.CharField(max_length=10, choices=Severity.choices, blank=True)
    field = models.CharField(max_length=20, blank=True)
    text = models.CharField(max_length=200, blank=True)
    disposition = models.CharField(max_length=10, choices=Disposition.choices)
    decided_at = models.DateTimeField()
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    actor_label = models.CharField(max_length=150)
    backfilled = models.BooleanField(default=False)

    class Meta:
        indexes = [
            models.Index(fields=["decided_at", "rule_code"], name="disposition_time_rule"),
            models.Index(fields=["client", "decided_at"], name="disposition_client_time"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(disposition__in=Disposition.values),
                name="finding_disposition_known",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.rule_code} in message {self.message_id}: {self.disposition}"


class ProposalStatus(models.TextChoices):
    OPEN = "open", "Open"
    ACCEPTED = "accepted", "Accepted"
    DECLINED = "declined", "Declined"


class RuleProposal(models.Model):
    """A proposed severity for a rule, from how reviewers ended its findings (the evidence:
    counts, sample messages, the window). An operator accepts it (the rule changes as by any
    rule edit: a new version, audited) or declines it."""

    rule = models.ForeignKey(ValidationRule, on_delete=models.CASCADE, related_name="proposals")
    # The rule's version and severity the evidence was read against.
    rule_version = models.PositiveIntegerField()
    from_severity = models.CharField(max_length=10, choices=Severity.choices)
    to_severity = models.CharField(max_length=10, choices=Severity.choices)
    evidence = models.JSONField(default=dict)
    created_at = models.DateTimeField()
    status = models.CharField(
        max_length=10, choices=ProposalStatus.choices, default=ProposalStatus.OPEN
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decision_reason = models.TextField(blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["rule"], condition=models.Q(status="open"),
                name="rule_proposal_one_open_per_rule",
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=ProposalStatus.values),
                name="rule_proposal_status_known",
            ),
        ]
        permissions = [("decide_ruleproposal", "Can accept or decline a rule proposal")]

    def __str__(self) -> str:
        return f"{self.rule.code}: {self.from_severity} → {self.to_severity}"
