"""Routing validated batches, and the decisions on them: approve (by a reviewer, or by the
client's approver for a clean batch), reject, recall before sending begins."""

from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Case, Exists, F, OuterRef, Value, When
from django.utils import timezone

from apps.core.audit import AuditAction, record_event
from apps.core.errors import ApprovalRefused, ServiceError, TransitionConflict
from apps.core.models import (
    Batch,
    BatchStatus,
    ClientRole,
    Finding,
    Message,
    ReviewPolicy,
    SendStatus,
    Severity,
)
from apps.core.queueing import SEND_BATCH, enqueue_after_commit
from apps.core.transitions import last_actor, move_batch, try_move_batch
from apps.review.models import Disposition, RejectReason
from apps.review.services import dispositions
from apps.review.services.claims import check_hold
from apps.review.services.rounds import close_round, start_round

FLAGGED = (Severity.BLOCK, Severity.REVIEW)


def approval_grace() -> timedelta:
    return timedelta(seconds=settings.REVIEW_GRACE_SECONDS)


def _queue_approved_messages(*, batch_id: int, at: datetime) -> int:
    """Bind the approval to each included message's content as it is now, and queue it.

    Only messages not yet handed over: when a batch comes back to review after sending began
    (the bounce breaker), what was sent, failed or is unknown keeps that status; an unknown
    one is resolved by a person, never queued again by an approval."""
    not_yet_sent = (SendStatus.NOT_SCHEDULED, SendStatus.QUEUED)
    return Message.objects.filter(
        batch_id=batch_id, excluded=False, send_status__in=not_yet_sent
    ).update(
        approved_hash=F("content_hash"), approved_at=at, send_status=SendStatus.QUEUED
    )


def batch_route(*, batch_id: int) -> str | None:
    """After validation: flagged, or a client that reviews everything → the holding queue;
    clean under an auto-approve policy → approved and sent. Returns the new status, or None
    when another copy of the job already routed it."""
    messages = Message.objects.filter(batch_id=OuterRef("pk"))
    batch = (
        Batch.objects.select_related("client")
        .annotate(
            flagged=Exists(messages.filter(worst_severity__in=FLAGGED)),
            unvalidated=Exists(messages.filter(validated_at__isnull=True)),
        )
        .get(pk=batch_id)
    )
    now = timezone.now()
    flagged, unvalidated = batch.flagged, batch.unvalidated
    auto = batch.client.review_policy == ReviewPolicy.AUTO_APPROVE_CLEAN
    # A message the validators never reached is unknown, and unknown is not clean.
    if auto and not flagged and not unvalidated:
        to, fields = BatchStatus.APPROVED, {"decided_at": now, "entered_review_at": None}
    else:
        to, fields = BatchStatus.IN_REVIEW, {"entered_review_at": now}
    with transaction.atomic():
        if not try_move_batch(batch_id=batch_id, expected=BatchStatus.VALIDATING, to=to, **fields):
            return None
        reason = (
            "" if to == BatchStatus.IN_REVIEW else "no findings; client auto-approves clean batches"
        )
        record_event(
            actor=None, action=AuditAction.BATCH_ROUTED, at=now, batch_id=batch.pk,
            from_state=BatchStatus.VALIDATING, to_state=to, reason=reason,
            data={"flagged": flagged},
        )
        if to == BatchStatus.IN_REVIEW:
            start_round(batch_id, entered_at=now)
        else:
            _queue_approved_messages(batch_id=batch_id, at=now)
            # Its findings (warnings only) go out as they are.
            dispositions.record_for_batch(
                batch_id=batch_id, disposition=Disposition.APPROVED, actor=None, at=now,
                included_only=True,
            )
            enqueue_after_commit(SEND_BATCH, batch_id)
    return to


def batch_approve(*, batch_id: int, actor: User | None) -> None:
    """Approve: sending waits REVIEW_GRACE_SECONDS (the batch can be recalled meanwhile)."""
    now = timezone.now()
    send_not_before = now + approval_grace()
    with transaction.atomic():
        # The conditional update comes first: on PostgreSQL it holds the batch row, so an edit
        # waiting on that row cannot slip a new blocking finding in behind the check below.
        move_batch(
            batch_id=batch_id, expected=BatchStatus.IN_REVIEW, to=BatchStatus.APPROVED,
            decided_at=now, decided_by=actor, send_not_before=send_not_before,
        )
        check_hold(batch_id, actor=actor, now=now)
        blocking = (
            Finding.objects.of_included_messages([batch_id]).filter(severity=Severity.BLOCK).count()
        )
        if blocking:
            raise ApprovalRefused(
                f"{blocking} blocking finding(s) remain in included messages: fix those messages "
                "or exclude them before approving."
            )
        if not Message.objects.filter(batch_id=batch_id, excluded=False).exists():
            raise ApprovalRefused("Every message is excluded: reject the batch instead.")
        queued = _queue_approved_messages(batch_id=batch_id, at=now)
        dispositions.record_for_batch(
            batch_id=batch_id, disposition=Disposition.APPROVED, actor=actor, at=now,
            included_only=True,
        )
        close_round(batch_id, actor=actor, now=now, outcome="approved")
        record_event(
            actor=actor, action=AuditAction.BATCH_APPROVED, at=now, batch_id=batch_id,
            from_state=BatchStatus.IN_REVIEW, to_state=BatchStatus.APPROVED,
            data={"messages_approved": queued, "send_not_before": send_not_before.isoformat()},
        )
        # With no grace the job goes straight to the queue; otherwise the scheduler holds it.
        at = send_not_before if send_not_before > now else None
        enqueue_after_commit(SEND_BATCH, batch_id, at=at)


def batch_reject(
    *, batch_id: int, actor: User, reason: str, code: str = RejectReason.OTHER
) -> None:
    """Reject with a structured reason (`code`, one of RejectReason) and a comment (`reason`)."""
    reason = (reason or "").strip()
    if not reason:
        raise ServiceError("Say why the batch is rejected.")
    if code not in RejectReason.values:
        raise ServiceError(f"Unknown rejection reason {code!r}.")
    now = timezone.now()
    with transaction.atomic():
        move_batch(
            batch_id=batch_id, expected=BatchStatus.IN_REVIEW, to=BatchStatus.REJECTED,
            decided_at=now, decided_by=actor, decision_reason=reason,
        )
        check_hold(batch_id, actor=actor, now=now)
        close_round(batch_id, actor=actor, now=now, outcome="rejected")
        dispositions.record_for_batch(
            batch_id=batch_id, disposition=Disposition.REJECTED, actor=actor, at=now
        )
        record_event(
            actor=actor, action=AuditAction.BATCH_REJECTED, at=now, batch_id=batch_id,
            from_state=BatchStatus.IN_REVIEW, to_state=BatchStatus.REJECTED, reason=reason,
            data={"reason_code": code},
        )


def batch_recall(*, batch_id: int, actor: User, reason: str = "") -> None:
    """Take an approved batch back to the queue before sending begins. Conditional on APPROVED:
    sending's approved → sending move is conditional too, so exactly one of the two wins."""
    with transaction.atomic():
        # Lock first, then read the clock: a recall that waited on the approval's lock is
        # stamped after it (the audit trail is ordered by time), and sees who approved.
        batch = Batch.objects.select_for_update().filter(pk=batch_id).first()
        now = timezone.now()
        # The state first: a reviewer who lost the race to another recall (or to sending) is
        # told that, not that she may not recall (issue 13).
        if batch is None or batch.status != BatchStatus.APPROVED:
            actual = batch.status if batch is not None else ""
            raise TransitionConflict(f"Batch {batch_id}", BatchStatus.APPROVED, actual,
                                     by=last_actor(batch_id))
        if batch.decided_by_id != actor.pk and not actor.has_perm("review.recall_any_batch"):
            raise ServiceError(
                "Only the reviewer who approved the batch or an operator can recall it."
            )
        move_batch(
            batch_id=batch_id, expected=BatchStatus.APPROVED, to=BatchStatus.IN_REVIEW,
            entered_review_at=now, decided_at=None, decided_by=None, send_not_before=None,
            decision_reason="",
        )
        # No message of an APPROVED batch is sending yet; the queued ones lose their approval.
        cleared = Message.objects.filter(batch_id=batch_id).exclude(approved_hash="").update(
            approved_hash="", approved_at=None,
            send_status=Case(
                When(send_status=SendStatus.QUEUED, then=Value(SendStatus.NOT_SCHEDULED)),
                default=F("send_status"),
            ),
        )
        start_round(batch_id, entered_at=now)
        dispositions.approval_withdrawn(batch_id=batch_id)
        record_event(
            actor=actor, action=AuditAction.BATCH_RECALLED, at=now, batch_id=batch_id,
            from_state=BatchStatus.APPROVED, to_state=BatchStatus.IN_REVIEW,
            reason=(reason or "").strip(), data={"approvals_cleared": cleared},
        )


def batch_approve_by_client(*, batch_id: int, actor: User) -> None:
    """A client's approver approves their own batch, where the client allows it, and only a
    batch with no findings at all: anything flagged stays for a reviewer."""
    link = getattr(actor, "client_user", None)
    with transaction.atomic():
        batch = Batch.objects.select_related("client").get(pk=batch_id)
        if link is None or link.client_id != batch.client_id or link.role != ClientRole.APPROVER:
            raise ApprovalRefused("Only an approver of this client can approve its batches.")
        if not batch.client.client_may_approve_clean:
            raise ApprovalRefused("Your account does not approve batches itself: a reviewer will.")
        # batch_approve's conditional update holds the batch row from here on, so the check
        # below sees the findings as they are when the approval commits.
        batch_approve(batch_id=batch_id, actor=actor)
        if Finding.objects.of_included_messages([batch_id]).filter(severity__in=FLAGGED).exists():
            raise ApprovalRefused("This batch has findings: a reviewer must decide it.")
