"""The core models every stage shares. No business logic here: services change state."""

import hashlib
from collections.abc import Iterable

from django.conf import settings
from django.db import models
from django.db.models import Q, Value
from django.db.models.functions import Lower, StrIndex, Substr
from django.utils import timezone


class Tier(models.TextChoices):
    STANDARD = "standard", "Standard"
    PRIORITY = "priority", "Priority"


class ReviewPolicy(models.TextChoices):
    REVIEW_ALL = "review_all", "A person reviews every batch"
    AUTO_APPROVE_CLEAN = "auto_approve_clean", "Batches with no findings are approved automatically"


class Severity(models.TextChoices):
    BLOCK = "block", "Block"
    REVIEW = "review", "Review"
    WARN = "warn", "Warn"


RECONTACT_DAYS_MAX = 3650


class Client(models.Model):
    """A tenant: the company whose outbound we review."""

    name = models.CharField(max_length=200, unique=True)
    tier = models.CharField(max_length=20, choices=Tier.choices, default=Tier.STANDARD)
    review_policy = models.CharField(
        max_length=30, choices=ReviewPolicy.choices, default=ReviewPolicy.REVIEW_ALL
    )
    # Off by default: a client's approvers may approve their own batches that have no findings.
    client_may_approve_clean = models.BooleanField(default=False)
    # The re-contact cap (issue 14): a prospect this client mailed fewer than this many days ago
    # is flagged for review when a batch is generated and skipped at send time. 0: off. A
    # default in the database too, for writers that do not know the column (raw SQL, scripts).
    recontact_days = models.IntegerField(
        default=30,
        db_default=30,
        help_text="Days before the same person may be mailed again (0: no cap).",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        # The admin's form offers only the choices; these hold the line for every other writer
        # (a shell, a script, a fixture): an unknown policy would be read as "review all" by
        # some code paths and as nothing by others.
        constraints = [
            models.CheckConstraint(condition=Q(tier__in=Tier.values), name="client_tier_known",
                                   violation_error_message="Unknown tier."),
            models.CheckConstraint(condition=Q(review_policy__in=ReviewPolicy.values),
                                   name="client_review_policy_known",
                                   violation_error_message="Unknown review policy."),
            models.CheckConstraint(condition=~Q(name=""), name="client_name_not_empty",
                                   violation_error_message="A client needs a name."),
            # Ten years at most: beyond that "now minus the cap" leaves the calendar.
            models.CheckConstraint(
                condition=Q(recontact_days__gte=0) & Q(recontact_days__lte=RECONTACT_DAYS_MAX),
                name="client_recontact_days_in_range",
                violation_error_message=(
                    f"The re-contact cap is a number of days from 0 (off) to {RECONTACT_DAYS_MAX}."
                ),
            ),
        ]

    def __str__(self) -> str:
        return self.name


class ClientRole(models.TextChoices):
    VIEWER = "viewer", "Viewer (sees the client's batches)"
    APPROVER = "approver", "Approver (may also approve clean batches, where the client allows)"


class ClientUser(models.Model):
    """Links a login to the one client whose batches it may see."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="client_user"
    )
    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="users")
    role = models.CharField(max_length=10, choices=ClientRole.choices, default=ClientRole.VIEWER)
    # E-mails when a batch is approved, rejected or sent; each user can opt out.
    notify_by_email = models.BooleanField(default=True)

    def __str__(self) -> str:
        return f"{self.user} @ {self.client}"


class Campaign(models.Model):
    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="campaigns")
    name = models.CharField(max_length=200)
    subject_template = models.CharField(max_length=500)
    body_template = models.TextField()
    sender_name = models.CharField(max_length=200, blank=True)
    sender_email = models.EmailField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.client}: {self.name}"


def email_domain() -> models.Func:
    """An address's domain, lower-cased: the expression the domain index holds, so a filter
    must use this same expression to be served by it."""
    return Lower(Substr("email", StrIndex("email", Value("@")) + 1))


class Prospect(models.Model):
    # Indexed by prospect_client_id below, with the id beside it.
    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="prospects",
                               db_index=False)
    email = models.CharField(max_length=320)
    first_name = models.CharField(max_length=200, blank=True)
    last_name = models.CharField(max_length=200, blank=True)
    company = models.CharField(max_length=300, blank=True)
    title = models.CharField(max_length=200, blank=True)
    custom_fields = models.JSONField(default=dict, blank=True)
    # An import stamps its new rows with its own time (apps.generation.prospect_import), which
    # is how it tags exactly the rows it added.
    created_at = models.DateTimeField(default=timezone.now)
    tags: "models.ManyToManyField[Tag, ProspectTag]" = models.ManyToManyField(
        "Tag", through="ProspectTag", related_name="prospects"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["client", "email"], name="prospect_unique_per_client")
        ]
        indexes = [
            # "Start a batch" counts and samples a client's prospects newest first, or created
            # since a date: one range of this index.
            models.Index(fields=["client", "-created_at", "-id"], name="prospect_client_created"),
            # The client's prospects in id order from the index alone: "Start a batch" joins
            # them with a tag's rows (prospect_tagged_once, also in prospect id order) by a
            # merge of the two indexes, without reading the table.
            models.Index(fields=["client", "id"], name="prospect_client_id"),
            # Choosing by e-mail domain: one range of this index, not a scan of every address.
            models.Index("client", email_domain(), name="prospect_client_domain"),
            # "Company contains" has a trigram index on PostgreSQL only, made by migration
            # 0017_prospect_selection_indexes (SQLite could not rebuild the table with it here).
        ]

    def __str__(self) -> str:
        return f"{self.first_name} {self.last_name} <{self.email}>".strip()


class Tag(models.Model):
    """A name a client's prospects are grouped by: given at import (each import also has its
    own), chosen from when starting a batch."""

    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="tags")
    name = models.CharField(max_length=100)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["client", "name"], name="tag_unique_per_client")
        ]
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ProspectTag(models.Model):
    tag = models.ForeignKey(Tag, on_delete=models.CASCADE, db_index=False)
    prospect = models.ForeignKey(Prospect, on_delete=models.CASCADE)

    class Meta:
        # (tag, prospect): a tag's prospects are one range of it; it is also the uniqueness.
        constraints = [
            models.UniqueConstraint(fields=["tag", "prospect"], name="prospect_tagged_once")
        ]

    def __str__(self) -> str:
        return f"{self.tag_id} on prospect {self.prospect_id}"


class BatchStatus(models.TextChoices):
    GENERATING = "generating", "Generating"
    VALIDATING = "validating", "Validating"
    IN_REVIEW = "in_review", "In review"
    APPROVED = "approved", "Approved"
    SENDING = "sending", "Sending"
    # Sending finished but the outcome of some messages is unknown (the server may have them):
    # not "sent" until a person has resolved each one (apps.sending.unknown_sends.unknown_resolve).
    NEEDS_ATTENTION = "needs_attention", "Needs attention"
    SENT = "sent", "Sent"
    REJECTED = "rejected", "Rejected"
    # The client took the batch back while it waited in review (apps.review.services
    # .batch_withdraw): terminal, never sent.
    WITHDRAWN = "withdrawn", "Withdrawn by the client"
    # Generation or validation broke for good (retries spent): terminal, with the reason audited.
    FAILED = "failed", "Failed"


class Batch(models.Model):
    """The unit of review: one campaign sent to a chosen set of prospects."""

    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="batches")
    campaign = models.ForeignKey(Campaign, on_delete=models.PROTECT, related_name="batches")
    prospects = models.ManyToManyField(Prospect, related_name="batches")
    status = models.CharField(
        max_length=20, choices=BatchStatus.choices, default=BatchStatus.GENERATING
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # Time in review, written in the transaction of the transition (UTC, the database's clock
    # is not used: one clock, django.utils.timezone.now, for every timestamp).
    entered_review_at = models.DateTimeField(null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decision_reason = models.TextField(blank=True)
    # Set at approval: sending waits until then (the grace window in which it can be recalled).
    send_not_before = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "batches"
        indexes = [models.Index(fields=["status", "entered_review_at"])]

    def __str__(self) -> str:
        return f"Batch {self.pk} ({self.campaign.name})"


class SendStatus(models.TextChoices):
    NOT_SCHEDULED = "", "Not scheduled"
    QUEUED = "queued", "Queued"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"
    UNKNOWN = "unknown", "Unknown (needs a person)"


def content_hash(*, recipient: str, subject: str, body: str) -> str:
    """What an approval is bound to: a message whose hash changed is not the one approved."""
    digest = hashlib.sha256()
    for part in (recipient, subject, body):
        digest.update(part.encode("utf-8"))
        digest.update(b"\x00")
    return digest.hexdigest()


class Message(models.Model):
    """The unit of sending: one rendered e-mail to one prospect."""

    # No index of its own: the indexes below begin with the batch and serve lookups by it (one
    # index fewer to write on every change of a message, the send path's two among them).
    batch = models.ForeignKey(Batch, on_delete=models.CASCADE, related_name="messages",
                              db_index=False)
    prospect = models.ForeignKey(Prospect, on_delete=models.PROTECT, related_name="messages")
    recipient = models.CharField(max_length=320)
    subject = models.CharField(max_length=1000)
    body = models.TextField()
    content_hash = models.CharField(max_length=64)
    # Null until validated; after that, the most severe finding (or "" for clean).
    validated_at = models.DateTimeField(null=True, blank=True)
    worst_severity = models.CharField(max_length=10, blank=True)
    excluded = models.BooleanField(default=False)
    exclusion_reason = models.TextField(blank=True)
    approved_hash = models.CharField(max_length=64, blank=True)
    approved_at = models.DateTimeField(null=True, blank=True)
    send_status = models.CharField(
        max_length=10, choices=SendStatus.choices, default=SendStatus.NOT_SCHEDULED, blank=True
    )
    send_claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            # Generation is idempotent: a retried job cannot add a second message per prospect.
            models.UniqueConstraint(fields=["batch", "prospect"], name="message_once_per_prospect"),
            # Promise 1 at the database: nothing is sending or sent unless approved as it is now.
            models.CheckConstraint(
                condition=~Q(send_status__in=["sending", "sent"])
                | (~Q(approved_hash="") & Q(approved_hash=models.F("content_hash"))),
                name="message_sent_only_if_approved_unchanged",
            ),
            models.CheckConstraint(
                condition=~Q(send_status__in=["queued", "sending", "sent"]) | Q(excluded=False),
                name="message_excluded_never_sent",
            ),
        ]
        indexes = [
            # A send worker claims a batch's queued messages in id order, a chunk at a time:
            # with the id in the index they come in that order and the claim reads only its
            # chunk (with (batch, send_status) alone every claim read and sorted all the
            # batch's queued messages, so a claim cost more the larger the batch). Also serves
            # counts per status.
            models.Index(fields=["batch", "send_status", "id"], name="message_batch_status_id"),
        ]

    def __str__(self) -> str:
        return f"Message {self.pk} to {self.recipient}"

    @property
    def message_id_header(self) -> str:
        """Deterministic, so a person can match a send in the mail server's log."""
        return f"<message-{self.pk}.batch-{self.batch_id}@{settings.MESSAGE_ID_DOMAIN}>"


class Suppression(models.Model):
    """An address that must never be sent to: for one client, or for everyone (client empty).

    Read by validation (a finding), import (a row error) and sending (a last check)."""

    client = models.ForeignKey(
        Client, null=True, blank=True, on_delete=models.CASCADE, related_name="suppressions"
    )
    email = models.CharField(max_length=320)  # stored lower-cased
    reason = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["client", "email"], name="suppression_once_per_client"),
            models.UniqueConstraint(
                fields=["email"], condition=Q(client__isnull=True), name="suppression_once_global"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.email} ({self.client or 'everyone'})"


class ValidationRule(models.Model):
    """An operator's switch for one check: on/off, how severe, with what parameters."""

    code = models.CharField(max_length=50, unique=True)
    description = models.TextField(blank=True)
    enabled = models.BooleanField(default=True)
    severity = models.CharField(max_length=10, choices=Severity.choices, default=Severity.BLOCK)
    parameters = models.JSONField(default=dict, blank=True)
    version = models.PositiveIntegerField(default=1)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(severity__in=Severity.values),
                                   name="validationrule_severity_known",
                                   violation_error_message="Unknown severity."),
        ]

    def __str__(self) -> str:
        return self.code


class FindingQuerySet(models.QuerySet["Finding"]):
    def of_included_messages(self, batch_ids: Iterable[int]) -> "FindingQuerySet":
        """Findings of the included (not excluded) messages of these batches. The batch is named
        on both sides of the join so PostgreSQL reads only these batches' findings and messages,
        each by its index: naming it on one side only hashes the whole other table, whose size
        has nothing to do with the batch's (docs/performance.md)."""
        return self.filter(
            batch_id__in=batch_ids, message__batch_id__in=batch_ids, message__excluded=False
        )


class Finding(models.Model):
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="findings")
    # Always the message's batch (a message never changes batch), so that per-batch aggregates
    # (the queue's findings by kind, the review screen's groups, the approval check) read the
    # batch's findings by index instead of joining every finding to its message. No index of
    # its own: the (batch, rule_code) index below serves lookups by batch.
    batch = models.ForeignKey(
        Batch, on_delete=models.CASCADE, related_name="findings", db_index=False
    )
    rule_code = models.CharField(max_length=50)
    rule_version = models.PositiveIntegerField(default=1)
    # The version of the client's override of that rule in force, if one was: an override's
    # change alters findings as much as a rule's, so both name what produced the finding.
    rule_override_version = models.PositiveIntegerField(null=True, blank=True)
    severity = models.CharField(max_length=10, choices=Severity.choices)
    field = models.CharField(max_length=20)
    start = models.PositiveIntegerField(null=True, blank=True)
    end = models.PositiveIntegerField(null=True, blank=True)
    explanation = models.TextField()
    # None: no fix to offer; "" is a fix too (remove the flagged text).
    suggestion = models.TextField(null=True, blank=True)  # noqa: DJ001

    objects = FindingQuerySet.as_manager()

    class Meta:
        indexes = [
            models.Index(fields=["message", "severity"]),
            models.Index(fields=["batch", "rule_code"]),
        ]

    def __str__(self) -> str:
        return f"{self.rule_code} ({self.severity}) in {self.field}"


class AuditEvent(models.Model):
    """Append-only: a database trigger (see the migrations) refuses UPDATE and DELETE."""

    created_at = models.DateTimeField()
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # "system" for the pipeline's own moves; a user's actions carry the user too.
    actor_label = models.CharField(max_length=150)
    action = models.CharField(max_length=50)
    batch = models.ForeignKey(
        Batch, null=True, blank=True, on_delete=models.PROTECT, related_name="events"
    )
    message = models.ForeignKey(
        Message, null=True, blank=True, on_delete=models.PROTECT, related_name="events"
    )
    from_state = models.CharField(max_length=20, blank=True)
    to_state = models.CharField(max_length=20, blank=True)
    reason = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["created_at", "pk"]
        indexes = [models.Index(fields=["batch", "created_at"])]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.actor_label} {self.action}"


class DeliveryAttempt(models.Model):
    """One try at handing a message to the SMTP server, and what came of it."""

    message = models.ForeignKey(Message, on_delete=models.PROTECT, related_name="attempts")
    message_id_header = models.CharField(max_length=250)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=10, choices=SendStatus.choices, blank=True)
    smtp_code = models.IntegerField(null=True, blank=True)
    detail = models.TextField(blank=True)

    def __str__(self) -> str:
        return (
            f"Attempt {self.pk} for message {self.message_id_header}: {self.outcome or 'pending'}"
        )
