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
