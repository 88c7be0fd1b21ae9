"""Client webhooks: the URL a client registered, and one delivery per batch state change.

Written only by apps/clienthooks/services.py."""

from django.conf import settings
from django.db import models
from django.db.models import Q

from apps.core.models import AuditEvent, Client


class WebhookEndpoint(models.Model):
    """Where a client wants its batches' state changes POSTed (one URL per client)."""

    client = models.OneToOneField(Client, on_delete=models.CASCADE, related_name="webhook")
    url = models.URLField(max_length=2000)
    # Kept as it is, not hashed: signing needs the secret itself. Shown to the client once,
    # when made (registration or rotation); the pages show only its prefix after that.
    secret = models.CharField(max_length=80)
    secret_prefix = models.CharField(max_length=16)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    def __str__(self) -> str:
        return f"{self.client}: {self.url}"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Waiting to be tried"
    DELIVERING = "delivering", "Being delivered"
    DELIVERED = "delivered", "Delivered"
    GAVE_UP = "gave_up", "Given up"


class WebhookDelivery(models.Model):
    """One state change of one batch, for one client's URL, until delivered or given up.

    The body and the idempotency key are fixed when the row is made: every retry POSTs the same
    bytes under the same key (only the timestamp and its signature are new per attempt)."""

    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="webhook_deliveries")
    event = models.ForeignKey(AuditEvent, on_delete=models.PROTECT, related_name="+")
    idempotency_key = models.UUIDField(unique=True)
    url = models.URLField(max_length=2000)
    body = models.TextField()
    status = models.CharField(
        max_length=12, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    created_at = models.DateTimeField()
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "webhook deliveries"
        constraints = [
            # The fan-out may run twice over the same events: one delivery per event and client.
            models.UniqueConstraint(fields=["client", "event"], name="webhook_delivery_once"),
            models.CheckConstraint(condition=Q(status__in=DeliveryStatus.values),
                                   name="webhook_delivery_status_known"),
        ]
        indexes = [
            models.Index(fields=["client", "-created_at"], name="webhook_delivery_log"),
            # What the fan-out's sweep looks for: deliveries still to be tried or in flight.
            models.Index(fields=["next_attempt_at"], name="webhook_delivery_due",
                         condition=Q(status__in=["pending", "delivering"])),
        ]

    def __str__(self) -> str:
        return f"Delivery {self.pk} of event {self.event_id} to {self.url} ({self.status})"
