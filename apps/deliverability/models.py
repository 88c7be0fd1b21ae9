"""What came back after a message left: bounces, complaints, delivery confirmations."""

from django.db import models

from apps.core.models import Batch, Client, Message


class EventKind(models.TextChoices):
    HARD = "hard", "Hard bounce (permanent)"
    SOFT = "soft", "Soft bounce (temporary)"
    AUTO_REPLY = "auto_reply", "Auto-reply"
    COMPLAINT = "complaint", "Complaint (marked as spam)"
    DELIVERED = "delivered", "Delivered (the relay confirms)"
    UNKNOWN = "unknown", "Unknown (unreadable report)"


class BounceEvent(models.Model):
    """One report about one message, applied once: `key` names the report where it came from
    (the ESP's event id, the bounce mail's Message-ID and the message it names), so a report
    read twice or a webhook replayed changes nothing the second time."""

    key = models.CharField(max_length=300, unique=True)
    kind = models.CharField(max_length=12, choices=EventKind.choices)
    source = models.CharField(max_length=30)  # "imap", or the ESP's webhook ("amazon_ses", …)
    # Empty when the report named no message of ours (kept as evidence, changes nothing).
    message = models.ForeignKey(Message, null=True, blank=True, on_delete=models.PROTECT,
                                related_name="bounce_events")
    batch = models.ForeignKey(Batch, null=True, blank=True, on_delete=models.PROTECT,
                              related_name="bounce_events", db_index=False)
    client = models.ForeignKey(Client, null=True, blank=True, on_delete=models.PROTECT,
                               related_name="bounce_events", db_index=False)
    recipient = models.CharField(max_length=320, blank=True)
    # The domain the message was sent from (its campaign's sender): the breaker counts a sending
    # domain's reports over a sliding window, and operators read its rates.
    sending_domain = models.CharField(max_length=253, blank=True)
    evidence = models.TextField(blank=True)
    received_at = models.DateTimeField()

    class Meta:
        indexes = [
            # The breaker counts a batch's events by kind; operators read a client's over time.
            models.Index(fields=["batch", "kind"], name="bounce_batch_kind"),
            models.Index(fields=["client", "received_at"], name="bounce_client_time"),
            models.Index(fields=["sending_domain", "received_at"], name="bounce_domain_time"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} for message {self.message_id or '?'} ({self.source})"


class WebhookEvent(models.Model):
    """A webhook event as it arrived, stored before the relay is answered 200 and applied later
    in batches (apps/deliverability/inbox.py). `key` names the event at its relay (the SNS
    MessageId, the ESP's event id), so a replay is refused or ignored by one unique insert.
    Rows applied long ago are forgotten by the sweeper (AMAZON_SNS_MAX_AGE_SECONDS)."""

    key = models.CharField(max_length=300, unique=True)
    source = models.CharField(max_length=30)  # "amazon_ses", "postmark", "mailgun"
    # The verified SNS message (SES), or the event as read from the ESP's request (anymail).
    payload = models.JSONField()
    received_at = models.DateTimeField()
    applied_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            # The appliers and the sweeper look only at rows still waiting.
            models.Index(fields=["received_at"], name="webhook_event_waiting",
                         condition=models.Q(applied_at__isnull=True)),
        ]

    def __str__(self) -> str:
        return f"webhook event {self.key}"
