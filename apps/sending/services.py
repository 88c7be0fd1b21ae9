"""Sending approved messages over SMTP through Django's mail backend.

Each message is claimed (queued → sending) with a conditional update committed before any
SMTP traffic, so a retried or duplicated job finds it taken and never sends it again. The claim
also re-checks the approval: the content must still hash to what was approved (the database
constraint refuses anything else). A send whose outcome is unknown (the connection dropped
before the server's reply) becomes UNKNOWN for a person and is never resent by itself.
"""

import logging
import smtplib
import socket

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from apps.core.audit import record_event
from apps.core.models import Batch, BatchStatus, DeliveryAttempt, Message, SendStatus
from apps.core.transitions import try_move_batch

log = logging.getLogger(__name__)
CLAIM_CHUNK = 50


def _claimable(batch_id: int):
    return Message.objects.filter(
        batch_id=batch_id,
        send_status=SendStatus.QUEUED,
        excluded=False,
        approved_hash=F("content_hash"),
    ).order_by("pk")


def _claim_next(batch_id: int) -> list[Message]:
    """Claim up to CLAIM_CHUNK messages and commit the claim before sending anything."""
    claimed = []
    now = timezone.now()
    with transaction.atomic():
        candidates = _claimable(batch_id)
        if transaction.get_connection().features.has_select_for_update_skip_locked:
            # PostgreSQL: two workers on one batch take disjoint rows without waiting.
            candidates = candidates.select_for_update(skip_locked=True)
        for message in candidates[:CLAIM_CHUNK]:
            won = Message.objects.filter(
                pk=message.pk, send_status=SendStatus.QUEUED, approved_hash=F("content_hash")
            ).update(send_status=SendStatus.SENDING, send_claimed_at=now)
            if won:
                message.send_status = SendStatus.SENDING
                claimed.append(message)
    return claimed


def _email_for(message: Message, campaign) -> EmailMessage:
    sender = campaign.sender_email
    if campaign.sender_name:
        sender = f"{campaign.sender_name} <{campaign.sender_email}>"
    return EmailMessage(
        subject=message.subject,
        body=message.body,
        from_email=sender,
        to=[message.recipient],
        headers={"Message-ID": message.message_id_header},
    )


def _deliver(connection, email: EmailMessage) -> tuple[str, int | None, str]:
    """Hand one message to the server; returns (outcome, smtp code, detail)."""
    try:
        connection.send_messages([email])
    except smtplib.SMTPRecipientsRefused as exc:
        code, reply = next(iter(exc.recipients.values()))
        return SendStatus.FAILED, code, f"recipient refused: {reply!r}"
    except smtplib.SMTPResponseException as exc:
        # The server answered with an error: it did not take the message.
        return SendStatus.FAILED, exc.smtp_code, repr(exc.smtp_error)
    except (smtplib.SMTPServerDisconnected, socket.timeout, OSError) as exc:
        # No reply: the server may have stored the message. Only a person can tell.
        return SendStatus.UNKNOWN, None, f"no reply from the server: {exc!r}"
    return SendStatus.SENT, 250, ""


def _release(messages: list[Message]) -> None:
    """Give back claims whose messages were never handed to a server."""
    Message.objects.filter(
        pk__in=[m.pk for m in messages], send_status=SendStatus.SENDING
    ).update(send_status=SendStatus.QUEUED, send_claimed_at=None)


def _record_outcome(message: Message, outcome: str, code: int | None, detail: str) -> None:
    now = timezone.now()
    with transaction.atomic():
        Message.objects.filter(pk=message.pk, send_status=SendStatus.SENDING).update(
            send_status=outcome, sent_at=now if outcome == SendStatus.SENT else None
        )
        DeliveryAttempt.objects.filter(message=message, finished_at__isnull=True).update(
            finished_at=now, outcome=outcome, smtp_code=code, detail=detail
        )
        if outcome != SendStatus.SENT:
            record_event(
                actor=None, action=f"message_{outcome}", at=now, batch_id=message.batch_id,
                message_id=message.pk, from_state=SendStatus.SENDING, to_state=outcome,
                reason=detail,
            )


def _finish_if_done(batch_id: int) -> None:
    open_states = (SendStatus.QUEUED, SendStatus.SENDING)
    if Message.objects.filter(batch_id=batch_id, send_status__in=open_states).exists():
        return
    now = timezone.now()
    with transaction.atomic():
        if try_move_batch(
            batch_id=batch_id, expected=BatchStatus.SENDING, to=BatchStatus.SENT, sent_at=now
        ):
            counts = {
                status: Message.objects.filter(batch_id=batch_id, send_status=status).count()
                for status in (SendStatus.SENT, SendStatus.FAILED, SendStatus.UNKNOWN)
            }
            record_event(
                actor=None, action="batch_sent", at=now, batch_id=batch_id,
                from_state=BatchStatus.SENDING, to_state=BatchStatus.SENT, data=counts,
            )


def batch_send(*, batch_id: int) -> None:
    """Send what is queued in an approved batch. Safe to run twice, or twice at once."""
    now = timezone.now()
    with transaction.atomic():
        if try_move_batch(batch_id=batch_id, expected=BatchStatus.APPROVED, to=BatchStatus.SENDING):
            record_event(
                actor=None, action="batch_sending", at=now, batch_id=batch_id,
                from_state=BatchStatus.APPROVED, to_state=BatchStatus.SENDING,
            )
    batch = Batch.objects.select_related("campaign").get(pk=batch_id)
    if batch.status != BatchStatus.SENDING:
        log.info("batch %s is %s; nothing to send", batch_id, batch.status)
        return
    # One connection reused for the whole run, reopened after a failed message.
    connection = get_connection(fail_silently=False, timeout=settings.EMAIL_TIMEOUT)
    try:
        while claimed := _claim_next(batch_id):
            for position, message in enumerate(claimed):
                try:
                    connection.open()
                except (smtplib.SMTPException, OSError):
                    # Nothing was handed over: the rest of the claim goes back to the queue,
                    # and the job fails so that it is retried.
                    _release(claimed[position:])
                    raise
                DeliveryAttempt.objects.create(
                    message=message, message_id_header=message.message_id_header,
                    started_at=timezone.now(),
                )
                outcome, code, detail = _deliver(connection, _email_for(message, batch.campaign))
                if outcome != SendStatus.SENT:
                    connection.close()
                _record_outcome(message, outcome, code, detail)
    finally:
        connection.close()
    _finish_if_done(batch_id)
