"""E-mails to client users when a batch is approved, rejected or sent, or when its sending
finished with messages whose delivery could not be confirmed (needs attention).

Driven by the audit trail rather than by the services that move batches: a periodic job reads
the decision events, and a ClientNotification row per (event, user), committed before the
e-mail goes, makes every run safe to repeat. A user who opted out gets nothing.
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import User
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone

from apps.core.audit import AuditAction
from apps.core.models import AuditEvent, Batch, ClientUser
from apps.portal.models import ClientNotification

log = logging.getLogger(__name__)
NOTIFIED_ACTIONS: dict[str, str] = {
    AuditAction.BATCH_APPROVED: "approved",
    AuditAction.BATCH_REJECTED: "rejected",
    AuditAction.BATCH_SENT: "sent",
    AuditAction.BATCH_NEEDS_ATTENTION: "needs attention",
}
LOOKBACK = timedelta(days=2)


def _recipients(client_id: int) -> QuerySet[ClientUser]:
    return ClientUser.objects.filter(client_id=client_id, notify_by_email=True).select_related(
        "user"
    )


def _claim(event: AuditEvent, user: User) -> bool:
    try:
        with transaction.atomic():
            ClientNotification.objects.create(event=event, user=user, sent_at=timezone.now())
        return True
    except IntegrityError:
        return False  # already sent (or being sent) by an earlier run


def _send(event: AuditEvent, batch: Batch, user: User) -> None:
    what = NOTIFIED_ACTIONS[event.action]
    link = settings.SITE_URL.rstrip("/") + reverse("portal:batch-detail", args=[batch.pk])
    if event.action == AuditAction.BATCH_NEEDS_ATTENTION:
        # Never "sent" while the delivery of any message is in doubt; "sent" follows when our
        # team has resolved them (a batch_sent event, another e-mail).
        body = (f"Sending of batch #{batch.pk} ({batch.campaign.name}) finished at "
                f"{event.created_at:%Y-%m-%d %H:%M} UTC, but it is not complete yet.")
    else:
        body = (f"Batch #{batch.pk} ({batch.campaign.name}) was {what} at "
                f"{event.created_at:%Y-%m-%d %H:%M} UTC.")
    if event.reason:
        body += f"\nReason: {event.reason}"
    body += f"\n\nDetails: {link}\nTo stop these e-mails, change your settings in the portal."
    send_mail(f"Batch #{batch.pk} {what}", body, None, [user.email], fail_silently=False)


def notify_clients() -> int:
    """Send what is due; returns how many e-mails went out."""
    events = (
        AuditEvent.objects.filter(
            action__in=NOTIFIED_ACTIONS, batch__isnull=False,
            created_at__gte=timezone.now() - LOOKBACK,
        )
        .select_related("batch", "batch__campaign")
        .order_by("pk")
    )
    done = set(
        ClientNotification.objects.filter(event__in=events).values_list("event_id", "user_id")
    )
    sent = 0
    for event in events:
        batch = event.batch
        if batch is None:  # not selected (batch__isnull=False); said for the type checker
            continue
        for link in _recipients(batch.client_id):
            if (event.pk, link.user_id) in done or not link.user.email:
                continue
            if not _claim(event, link.user):
                continue
            try:
                _send(event, batch, link.user)
                sent += 1
            except Exception:
                # Give the claim back so the next run tries again.
                ClientNotification.objects.filter(event=event, user=link.user).delete()
                log.exception("notification for event %s to user %s failed", event.pk, link.user.pk)
    return sent
