"""Sending approved messages over SMTP: each message at most once, nothing unapproved, nothing
lost.

RQ runs a job at least once and SMTP has no idempotency key, so the guarantees come from the
database and from how doubt is treated:

1. A worker claims a few messages (queued → sending, `SKIP LOCKED` on PostgreSQL) and commits
   the claim; the claim's time is the worker's token.
2. Just before handing a message over, the worker re-checks its claim with that token and
   records a DeliveryAttempt, in one transaction. If the sweeper took the claim back meanwhile
   (the lease ran out), the token no longer matches and the worker leaves the message alone.
3. The outcome is committed after the server's reply: sent, failed (5xx), queued again for
   later (4xx, bounded exponential backoff) or unknown (no reply to DATA).
4. A message still "sending" after its lease was claimed by a worker that died. Without an
   open attempt it never reached the server and goes back to the queue; with one, the server
   may have it: it becomes unknown, and only a person may send it again.

At the moment of sending, a message is also checked against the approval (content hash equal
to the approved one), the batch's state (not recalled or paused) and the suppression list;
what fails a check is skipped with the reason in the audit trail.
"""

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from apps.core.audit import record_event
from apps.core.errors import ServiceError, TransitionConflict
from apps.core.models import (
    Batch, BatchStatus, DeliveryAttempt, Message, SendStatus, Suppression,
)
from apps.core.queueing import enqueue_after_commit
from apps.core.transitions import try_move_batch
from apps.sending import reputation, smtp
from apps.sending.faults import fault_point
from apps.sending.models import SendDeferral
from apps.sending.unsubscribe import unsubscribe_headers

log = logging.getLogger(__name__)
OPEN_STATES = (SendStatus.QUEUED, SendStatus.SENDING)


# --- starting ---------------------------------------------------------------------------------

def _start_sending(batch_id: int, now: datetime) -> bool:
    """approved → sending once the grace window is over. True if the batch is sending."""
    with transaction.atomic():
        due = Q(send_not_before__isnull=True) | Q(send_not_before__lte=now)
        if Batch.objects.filter(due, pk=batch_id, status=BatchStatus.APPROVED).update(
            status=BatchStatus.SENDING
        ):
            record_event(
                actor=None, action="batch_sending", at=now, batch_id=batch_id,
                from_state=BatchStatus.APPROVED, to_state=BatchStatus.SENDING,
            )
            return True
    batch = Batch.objects.filter(pk=batch_id).values("status", "send_not_before").first()
    if batch is None:
        return False
    if batch["status"] == BatchStatus.APPROVED:
        # Still inside the grace window, in which a reviewer may recall it: the job scheduled
        # for the end of the window (or the sweeper) comes back then.
        log.info("batch %s may be recalled until %s; not sending yet", batch_id,
                 batch["send_not_before"])
    elif batch["status"] != BatchStatus.SENDING:
        log.info("batch %s is %s; nothing to send", batch_id, batch["status"])
    return batch["status"] == BatchStatus.SENDING


# --- claiming -----------------------------------------------------------------------------

def _not_deferred(now: datetime) -> Q:
    return Q(deferral__isnull=True) | Q(deferral__not_before__lte=now)


def _claim_next(batch_id: int) -> tuple[datetime, list[Message]]:
    """Claim up to SEND_CLAIM_CHUNK messages; commit before any SMTP traffic. Returns the
    claim's token (its time) and the messages claimed."""
    token = timezone.now()
    with transaction.atomic():
        candidates = Message.objects.filter(
            _not_deferred(token),
            batch_id=batch_id,
            batch__status=BatchStatus.SENDING,  # recalled or paused: claim nothing more
            send_status=SendStatus.QUEUED,
            excluded=False,
            approved_hash=F("content_hash"),
            sent_at__isnull=True,  # sent once already (whatever reset it since): never again
        ).order_by("pk")
        if transaction.get_connection().features.has_select_for_update_skip_locked:
            # PostgreSQL: two workers on one batch take disjoint rows without waiting.
            candidates = candidates.select_for_update(skip_locked=True, of=("self",))
        ids = list(candidates.values_list("pk", flat=True)[: settings.SEND_CLAIM_CHUNK])
        Message.objects.filter(
            pk__in=ids, send_status=SendStatus.QUEUED, approved_hash=F("content_hash")
        ).update(send_status=SendStatus.SENDING, send_claimed_at=token)
    claimed = Message.objects.filter(
        pk__in=ids, send_status=SendStatus.SENDING, send_claimed_at=token
    ).order_by("pk")
    return token, list(claimed)


def _suppressed(client_id: int, messages: list[Message]) -> set[str]:
    addresses = {m.recipient.strip().lower() for m in messages}
    return set(
        Suppression.objects.filter(Q(client_id=client_id) | Q(client__isnull=True))
        .filter(email__in=addresses)
        .values_list("email", flat=True)
    )


# --- one message ------------------------------------------------------------------------------

def _skip(message: Message, *, token: datetime | None, check: str, reason: str) -> None:
    """Take a message out of sending for a reason a check found; the batch can then finish."""
    now = timezone.now()
    with transaction.atomic():
        held = Message.objects.filter(pk=message.pk)
        held = held.filter(send_status=SendStatus.SENDING, send_claimed_at=token) if token else (
            held.filter(send_status=SendStatus.QUEUED)
        )
        before = SendStatus.SENDING if token else SendStatus.QUEUED
        if held.update(send_status=SendStatus.NOT_SCHEDULED, send_claimed_at=None):
            record_event(
                actor=None, action="message_send_skipped", at=now, batch_id=message.batch_id,
                message_id=message.pk, from_state=before, to_state=SendStatus.NOT_SCHEDULED,
                reason=reason, data={"check": check},
            )


def _skip_unapproved(batch_id: int) -> None:
    """Queued messages whose approval no longer matches their content (or was withdrawn)."""
    stale = Message.objects.filter(batch_id=batch_id, send_status=SendStatus.QUEUED).filter(
        Q(approved_hash="") | ~Q(approved_hash=F("content_hash")) | Q(excluded=True)
    )
    for message in stale:
        _skip(message, token=None, check="approval",
              reason="not sent: its content is not the content that was approved")
    # Sent once already, then put back in the queue by something else: it stays sent.
    now = timezone.now()
    for message in Message.objects.filter(
        batch_id=batch_id, send_status=SendStatus.QUEUED, sent_at__isnull=False
    ):
        with transaction.atomic():
            if Message.objects.filter(pk=message.pk, send_status=SendStatus.QUEUED).update(
                send_status=SendStatus.SENT
            ):
                record_event(
                    actor=None, action="message_send_skipped", at=now, batch_id=batch_id,
                    message_id=message.pk, from_state=SendStatus.QUEUED, to_state=SendStatus.SENT,
                    reason=f"not sent again: already sent at {message.sent_at:%Y-%m-%d %H:%M:%S} UTC",
                    data={"check": "already_sent"},
                )


def _begin_attempt(message: Message, token: datetime) -> tuple[datetime, DeliveryAttempt] | None:
    """Re-check the claim and record the attempt, in one transaction; None if the claim was
    taken back (the lease ran out). Returns the new token and the attempt.

    The row lock taken by the update makes the sweeper wait for this transaction, after which
    it sees the attempt (or this update finds the claim gone)."""
    now = timezone.now()
    if transaction.get_connection().vendor == "postgresql":
        attempt_id = _begin_attempt_in_one_statement(message, token, now)
        if attempt_id is None:
            return None
        return now, DeliveryAttempt(pk=attempt_id, message=message, started_at=now,
                                    message_id_header=message.message_id_header)
    with transaction.atomic():
        if not Message.objects.filter(
            pk=message.pk, send_status=SendStatus.SENDING, send_claimed_at=token,
            approved_hash=F("content_hash"),
        ).update(send_claimed_at=now):
            return None
        attempt = DeliveryAttempt.objects.create(
            message=message, message_id_header=message.message_id_header, started_at=now
        )
    return now, attempt


def _open_attempts(messages: list[Message], token: datetime) -> dict[int, tuple[datetime, DeliveryAttempt]]:
    """SEND_OPEN_ATTEMPTS_PER_CLAIM: the claim's attempts opened together, one commit for all
    (message id → new token and attempt). Faster; but a worker killed while sending them
    leaves every one still open to be resolved by a person as unknown."""
    if not messages:
        return {}
    now = timezone.now()
    ids = [m.pk for m in messages]
    with transaction.atomic():
        Message.objects.filter(
            pk__in=ids, send_status=SendStatus.SENDING, send_claimed_at=token,
            approved_hash=F("content_hash"),
        ).update(send_claimed_at=now)
        held = set(Message.objects.filter(pk__in=ids, send_status=SendStatus.SENDING,
                                          send_claimed_at=now).values_list("pk", flat=True))
        attempts = DeliveryAttempt.objects.bulk_create(
            DeliveryAttempt(message=m, message_id_header=m.message_id_header, started_at=now)
            for m in messages if m.pk in held
        )
    return {attempt.message_id: (now, attempt) for attempt in attempts}


def _close_unused(opened: dict[int, tuple[datetime, DeliveryAttempt]], messages: list[Message]) -> None:
    """Attempts opened ahead for messages this process knows it never handed over."""
    unused = [m for m in messages if m.pk in opened]
    if not unused:
        return
    with transaction.atomic():
        DeliveryAttempt.objects.filter(pk__in=[opened[m.pk][1].pk for m in unused]).update(
            finished_at=timezone.now(), outcome=SendStatus.FAILED,
            detail="not handed over (the run stopped before it)",
        )
        for message in unused:
            _release([message], opened[message.pk][0])


_BEGIN_ATTEMPT_SQL = """
WITH touched AS (
    UPDATE {message} SET send_claimed_at = %(now)s
    WHERE id = %(id)s AND send_status = 'sending' AND send_claimed_at = %(token)s
      AND approved_hash = content_hash
    RETURNING id
)
INSERT INTO {attempt} (message_id, message_id_header, started_at, outcome, detail)
SELECT id, %(header)s, %(now)s, '', '' FROM touched
RETURNING id
"""


def _begin_attempt_in_one_statement(message: Message, token: datetime, now: datetime) -> int | None:
    """The same as the ORM path, in one round trip: on the hot path of every send."""
    sql = _BEGIN_ATTEMPT_SQL.format(message=Message._meta.db_table,
                                    attempt=DeliveryAttempt._meta.db_table)
    # One statement, atomic by itself: no BEGIN/COMMIT round trips around it.
    with transaction.get_connection().cursor() as cursor:
        cursor.execute(sql, {"now": now, "id": message.pk, "token": token,
                             "header": message.message_id_header})
        row = cursor.fetchone()
    return row[0] if row else None


def _retry_delay(temporary_failures: int) -> timedelta:
    seconds = settings.SEND_RETRY_BASE_SECONDS * 2 ** (temporary_failures - 1)
    return timedelta(seconds=min(seconds, settings.SEND_RETRY_MAX_SECONDS))


def _defer(message: Message, token: datetime, delivery: smtp.Delivery, now: datetime) -> str:
    """4xx: back to the queue with a growing delay, or failed after too many."""
    deferral, _ = SendDeferral.objects.get_or_create(
        message=message, defaults={"not_before": now}
    )
    failures = deferral.temporary_failures + 1
    if failures >= settings.SEND_MAX_TEMPORARY_FAILURES:
        delivery.detail += f" (temporary failure {failures}: giving up)"
        return SendStatus.FAILED
    SendDeferral.objects.filter(pk=deferral.pk).update(
        temporary_failures=failures, not_before=now + _retry_delay(failures),
        last_reply=delivery.detail,
    )
    Message.objects.filter(pk=message.pk, send_status=SendStatus.SENDING, send_claimed_at=token).update(
        send_status=SendStatus.QUEUED, send_claimed_at=None
    )
    return SendStatus.QUEUED


def _record_outcome(message: Message, token: datetime, attempt: DeliveryAttempt,
                    delivery: smtp.Delivery) -> None:
    now = timezone.now()
    with transaction.atomic():
        outcome = delivery.outcome
        if outcome == smtp.DEFERRED:
            outcome = _defer(message, token, delivery, now)
        if outcome != SendStatus.QUEUED:
            # Conditional on the token: if the lease ran out meanwhile, the sweeper's verdict
            # (unknown) stands, and the attempt below is the evidence a person needs.
            Message.objects.filter(
                pk=message.pk, send_status=SendStatus.SENDING, send_claimed_at=token
            ).update(send_status=outcome, sent_at=now if outcome == SendStatus.SENT else None)
        attempt_outcome = SendStatus.FAILED if outcome == SendStatus.QUEUED else outcome
        DeliveryAttempt.objects.filter(pk=attempt.pk).update(
            finished_at=now, outcome=attempt_outcome, smtp_code=delivery.code,
            detail=delivery.detail,
        )
        if outcome != SendStatus.SENT:
            record_event(
                actor=None, action=f"message_{'deferred' if outcome == 'queued' else outcome}",
                at=now, batch_id=message.batch_id, message_id=message.pk,
                from_state=SendStatus.SENDING, to_state=outcome, reason=delivery.detail,
                data={"smtp_code": delivery.code, "refused": delivery.refused},
            )


def _release(messages: list[Message], token: datetime) -> None:
    """Give back claims whose messages were never handed to a server."""
    Message.objects.filter(
        pk__in=[m.pk for m in messages], send_status=SendStatus.SENDING, send_claimed_at=token
    ).update(send_status=SendStatus.QUEUED, send_claimed_at=None)


def _email_for(message: Message, campaign) -> EmailMessage:
    sender = campaign.sender_email
    if campaign.sender_name:
        sender = f"{campaign.sender_name} <{campaign.sender_email}>"
    return EmailMessage(
        subject=message.subject,
        body=message.body,
        from_email=sender,
        to=[message.recipient],
        headers={
            "Message-ID": message.message_id_header,
            **unsubscribe_headers(client_id=campaign.client_id, email=message.recipient),
        },
    )


class _SentOutcomes:
    """Successful sends of one claim, committed together (one transaction per claim instead
    of one per message). Until then each has an open attempt, so a crash in between makes
    them unknown — never resent — which is the price of the speed, paid only on a crash."""

    def __init__(self) -> None:
        self.pending: list[tuple[Message, datetime, DeliveryAttempt, smtp.Delivery]] = []

    def add(self, message, token, attempt, delivery) -> None:
        self.pending.append((message, token, attempt, delivery))

    def flush(self) -> None:
        if not self.pending:
            return
        now = timezone.now()
        ids = [message.pk for message, _, _, _ in self.pending]
        tokens = {token for _, token, _, _ in self.pending}
        by_reply: dict[tuple, list[int]] = {}
        for _, _, attempt, delivery in self.pending:
            by_reply.setdefault((delivery.code, delivery.detail), []).append(attempt.pk)
        with transaction.atomic():
            # Conditional on the tokens: if a lease ran out meanwhile, the sweeper's verdict
            # (unknown) stands, and the attempt is the evidence a person needs.
            Message.objects.filter(
                pk__in=ids, send_status=SendStatus.SENDING, send_claimed_at__in=tokens
            ).update(send_status=SendStatus.SENT, sent_at=now)
            for (code, detail), attempt_ids in by_reply.items():
                DeliveryAttempt.objects.filter(pk__in=attempt_ids).update(
                    finished_at=now, outcome=SendStatus.SENT, smtp_code=code, detail=detail
                )
        self.pending = []


def _send_claimed(session: smtp.SmtpSession, batch: Batch, token, claimed: list[Message],
                  limit: reputation.Limit, bounces: reputation.BounceWatch) -> bool:
    """Send a claim's messages; False when sending must stop (the bounce breaker tripped)."""
    suppressed = _suppressed(batch.client_id, claimed)
    bounces.refresh()
    sent = _SentOutcomes()
    opened = None
    if settings.SEND_OPEN_ATTEMPTS_PER_CLAIM:
        opened = _open_attempts(
            [m for m in claimed if m.recipient.strip().lower() not in suppressed], token
        )
    for position, message in enumerate(claimed):
        try:
            delivery = _send_one(session, batch, token, message, suppressed, limit, sent, opened)
            if delivery and bounces.tripped(delivery.outcome, delivery.code,
                                            commit_pending=sent.flush):
                _stop_claim(claimed[position + 1:], token, opened)
                return False
        except BaseException:
            # Whatever went wrong, what was sent is recorded, and the messages not yet handed
            # over go back now rather than after the lease, so the retry sends them at once.
            # (The message in hand, if handed over, is left to its outcome or the lease.)
            sent.flush()
            if opened is not None and message.pk in opened:  # never got to hand it over
                _close_unused(opened, [message])
            _stop_claim(claimed[position + 1:], token, opened)
            _release([message], token)  # a no-op once its attempt holds a newer token
            raise
    sent.flush()
    return True


def _stop_claim(rest: list[Message], token, opened) -> None:
    if opened is not None:
        _close_unused(opened, rest)
    _release(rest, token)


def _send_one(session: smtp.SmtpSession, batch: Batch, token, message: Message,
              suppressed: set[str], limit: reputation.Limit, sent: _SentOutcomes,
              opened: dict | None) -> smtp.Delivery | None:
    if message.recipient.strip().lower() in suppressed:
        _skip(message, token=token, check="suppression",
              reason="not sent: the recipient is on the suppression list")
        return None
    reputation.take_send_slot(limit)  # may wait for the next minute
    begun = _begin_attempt(message, token) if opened is None else opened.pop(message.pk, None)
    if begun is None:
        log.warning("message %s: claim taken back after its lease ran out; left alone", message.pk)
        return None
    attempt_token, attempt = begun
    try:
        delivery = session.deliver(_email_for(message, batch.campaign))
    except smtp.NotHandedOver as exc:
        # Nothing was handed over: the attempt is closed, the message goes back to the queue,
        # and the job fails so that it is retried (or the sweeper comes back to it).
        with transaction.atomic():
            DeliveryAttempt.objects.filter(pk=attempt.pk).update(
                finished_at=timezone.now(), outcome=SendStatus.FAILED,
                detail=f"not handed over: {exc}",
            )
            _release([message], attempt_token)
        raise
    fault_point("after_delivery")
    if delivery.outcome == smtp.SENT:
        sent.add(message, attempt_token, attempt, delivery)
    else:
        _record_outcome(message, attempt_token, attempt, delivery)
    fault_point("after_outcome")
    return delivery


# --- the batch ----------------------------------------------------------------------------

def _finish_if_done(batch_id: int) -> None:
    if Message.objects.filter(batch_id=batch_id, send_status__in=OPEN_STATES).exists():
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
    if not _start_sending(batch_id, timezone.now()):
        return
    batch = Batch.objects.select_related("campaign").get(pk=batch_id)
    limit = reputation.limit_for(batch.campaign.sender_email)
    bounces = reputation.BounceWatch(batch_id)
    _skip_unapproved(batch_id)
    try:
        with smtp.SmtpSession() as session:
            while _may_send_now(batch):
                token, claimed = _claim_next(batch_id)
                if not claimed:
                    break
                fault_point("after_claim")
                if not _send_claimed(session, batch, token, claimed, limit, bounces):
                    return  # paused by the bounce breaker: back in the holding queue
    except reputation.DailyLimitReached as exc:
        log.info("batch %s waits: %s", batch_id, exc)  # the sweeper comes back for it
        return
    _skip_unapproved(batch_id)
    _finish_if_done(batch_id)


def _may_send_now(batch: Batch) -> bool:
    if reputation.window_open(batch.client_id, timezone.now()):
        return True
    # Outside the client's send window: the rest waits, queued; the sweeper comes back.
    log.info("batch %s: outside its client's send window; waiting", batch.pk)
    return False


# --- leases: what a dead worker left behind ---------------------------------------------------

def expire_leases(*, now: datetime | None = None) -> dict[str, int]:
    """Messages "sending" past their lease: back to the queue if never handed to the server,
    else unknown (never resent without a person). Returns how many went each way."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.SEND_LEASE_SECONDS)
    counts = {"requeued": 0, "unknown": 0}
    with transaction.atomic():
        # Waits for a worker inside _begin_attempt; the attempts read below include its own.
        stale = list(
            Message.objects.select_for_update()
            .filter(send_status=SendStatus.SENDING, send_claimed_at__lt=cutoff)
            .order_by("pk")
        )
        for message in stale:
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
        actor=None, action="message_claim_expired", at=now, batch_id=message.batch_id,
        message_id=message.pk, from_state=SendStatus.SENDING, to_state=SendStatus.QUEUED,
        reason="claimed at {:%Y-%m-%d %H:%M:%S} UTC by a worker that stopped before handing it "
               "to the server; queued again".format(message.send_claimed_at),
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
        actor=None, action="message_unknown", at=now, batch_id=message.batch_id,
        message_id=message.pk, from_state=SendStatus.SENDING, to_state=SendStatus.UNKNOWN,
        reason=detail,
    )


# --- a person resolves an unknown send ------------------------------------------------------

RESOLVE_SENT, RESOLVE_RESEND = "sent", "resend"


def unknown_resolve(*, message_id: int, actor, decision: str, note: str = "") -> None:
    """An operator looked at the evidence (the attempts, the mail server's log): the message
    was sent, or it was not and is to be sent again. Either way it is audited."""
    if decision not in (RESOLVE_SENT, RESOLVE_RESEND):
        raise ServiceError(f"Decide 'sent' or 'resend', not {decision!r}.")
    now = timezone.now()
    with transaction.atomic():
        message = Message.objects.filter(pk=message_id).first()
        if message is None:
            raise ServiceError(f"Message {message_id} does not exist.")
        if decision == RESOLVE_SENT:
            changed = Message.objects.filter(pk=message_id, send_status=SendStatus.UNKNOWN).update(
                send_status=SendStatus.SENT, sent_at=now
            )
        else:
            changed = Message.objects.filter(
                pk=message_id, send_status=SendStatus.UNKNOWN, approved_hash=F("content_hash"),
                excluded=False,
            ).update(send_status=SendStatus.QUEUED, send_claimed_at=None)
        if not changed:
            actual = Message.objects.get(pk=message_id)
            if decision == RESOLVE_RESEND and actual.send_status == SendStatus.UNKNOWN:
                raise ServiceError("Its content is no longer the approved content: not resent.")
            raise TransitionConflict(f"Message {message_id}", SendStatus.UNKNOWN, actual.send_status)
        to_state = SendStatus.SENT if decision == RESOLVE_SENT else SendStatus.QUEUED
        record_event(
            actor=actor, action=f"unknown_resolved_{decision}", at=now, batch_id=message.batch_id,
            message_id=message_id, from_state=SendStatus.UNKNOWN, to_state=to_state,
            reason=note.strip(),
        )
        if decision == RESOLVE_RESEND:
            # A finished batch sends again; one still sending picks the message up as it goes.
            if try_move_batch(batch_id=message.batch_id, expected=BatchStatus.SENT,
                              to=BatchStatus.SENDING, sent_at=None):
                record_event(
                    actor=actor, action="batch_sending", at=now, batch_id=message.batch_id,
                    from_state=BatchStatus.SENT, to_state=BatchStatus.SENDING,
                    reason=f"message {message_id} to be resent",
                )
            enqueue_after_commit("send", "apps.pipeline.jobs.send_batch", message.batch_id)
