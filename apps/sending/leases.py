"""Leases: what a dead worker left behind. A message still "sending" past SEND_LEASE_SECONDS
was claimed by a worker that died: without an open attempt it never reached the server and
goes back to the queue; with one, the server may have it and it becomes unknown (only a person
may send it again). The journals of dead senders are read first (recover_abandoned_sends).
Applied by the sweeper (apps/pipeline/sweeper.py).
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from apps.core.audit import AuditAction, record_event
from apps.core.models import DeliveryAttempt, Message, SendStatus
from apps.sending.services import recover_abandoned_sends


def expire_leases(*, now: datetime | None = None) -> dict[str, int]:
    """Messages "sending" past their lease: back to the queue if never handed to the server,
    else unknown (never resent without a person). Returns how many went each way, those the
    journals of dead senders settled included ("answered": their reply recorded)."""
    now = now or timezone.now()
    # What a dead sender's journal can tell, before the lease decides without it.
    recovered = recover_abandoned_sends()
    cutoff = now - timedelta(seconds=settings.SEND_LEASE_SECONDS)
    counts = {"requeued": recovered["requeued"], "unknown": recovered["unknown"],
              "answered": recovered["answered"]}
    stale = Message.objects.filter(send_status=SendStatus.SENDING, send_claimed_at__lt=cutoff)
    if not stale.exists():
        # Read first: on SQLite a transaction takes the one write lock at BEGIN (IMMEDIATE),
        # and the sweeper would queue behind every long write (an import) to do nothing.
        return counts
    with transaction.atomic():
        # Waits for a worker inside _begin_attempt; the attempts read below include its own.
        locked = list(
            Message.objects.select_for_update()
            .filter(send_status=SendStatus.SENDING, send_claimed_at__lt=cutoff)
            .order_by("pk")
        )
        for message in locked:
            open_attempt = DeliveryAttempt.objects.filter(
                message=message, finished_at__isnull=True
            ).order_by("-started_at").first()
            if open_attempt is None:
                _lease_requeue(message, now)
                counts["requeued"] += 1
            else:
                _lease_unknown(message, open_attempt, now)
                counts["unknown"] += 1
    return counts


def _lease_requeue(message: Message, now: datetime) -> None:
    Message.objects.filter(pk=message.pk).update(
        send_status=SendStatus.QUEUED, send_claimed_at=None
    )
    record_event(
        actor=None,
        action=AuditAction.MESSAGE_CLAIM_EXPIRED,
        at=now,
        batch_id=message.batch_id,
        message_id=message.pk,
        from_state=SendStatus.SENDING,
        to_state=SendStatus.QUEUED,
        reason=f"claimed at {message.send_claimed_at:%Y-%m-%d %H:%M:%S} UTC by a worker that "
        "stopped before handing it to the server; queued again",
    )


def _lease_unknown(message: Message, attempt: DeliveryAttempt, now: datetime) -> None:
    detail = (
        f"the worker stopped after handing the message to the server at "
        f"{attempt.started_at:%Y-%m-%d %H:%M:%S} UTC and before recording the reply; the "
        f"server may have it: look for {attempt.message_id_header} in its log"
    )
    Message.objects.filter(pk=message.pk).update(send_status=SendStatus.UNKNOWN)
    DeliveryAttempt.objects.filter(pk=attempt.pk).update(
        finished_at=now, outcome=SendStatus.UNKNOWN, detail=detail
    )
    record_event(
        actor=None, action=AuditAction.MESSAGE_UNKNOWN, at=now, batch_id=message.batch_id,
        message_id=message.pk, from_state=SendStatus.SENDING, to_state=SendStatus.UNKNOWN,
        reason=detail,
    )
