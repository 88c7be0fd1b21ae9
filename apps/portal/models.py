"""The client-facing side's own records: API tokens and the notifications already sent."""

import hashlib

from django.conf import settings
from django.db import models

from apps.core.models import AuditEvent, Client


def hash_token(raw: str) -> str:
    # Only a hash is stored: a leaked database does not leak working tokens.
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


class ApiToken(models.Model):
    """A bearer token an operator issues to one client for the JSON API."""

    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="api_tokens")
    label = models.CharField(max_length=100)
    prefix = models.CharField(max_length=12, help_text="The start of the token, to recognise it.")
    key_hash = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.client}: {self.label})"

    @property
    def audit_label(self) -> str:
        """How the audit trail names an action taken with this token."""
        return f"api token {self.prefix} ({self.label})"


class ClientNotification(models.Model):
    """One e-mail per (event, user): the notifier can run any number of times."""

    event = models.ForeignKey(AuditEvent, on_delete=models.PROTECT, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    sent_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["event", "user"], name="notification_once_per_user")
        ]

    def __str__(self) -> str:
        return f"Notification of event {self.event_id} to user {self.user_id}"
