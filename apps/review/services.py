"""Review: routing validated batches, and the reviewer's decisions.

Each function is one transaction: a conditional state change (the loser is told), the audit
event, and follow-up jobs enqueued only after commit.
"""

import logging

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from apps.core.audit import record_event
from apps.core.errors import ApprovalRefused, ServiceError, TransitionConflict
from apps.core.models import (
    Batch, BatchStatus, Finding, Message, ReviewPolicy, SendStatus, Severity, content_hash,
)
from apps.core.queueing import enqueue_after_commit
from apps.core.transitions import move_batch, try_move_batch
from apps.validation.services import message_revalidate

log = logging.getLogger(__name__)
FLAGGED = (Severity.BLOCK, Severity.REVIEW)


def _queue_approved_messages(*, batch_id: int, at) -> int:
    """Bind the approval to each included message's content as it is now, and queue it."""
    return Message.objects.filter(batch_id=batch_id, excluded=False).update(
        approved_hash=F("content_hash"), approved_at=at, send_status=SendStatus.QUEUED
    )


def batch_route(*, batch_id: int) -> str | None:
    """After validation: flagged, or a client that reviews everything → the holding queue;
    clean under an auto-approve policy → approved and sent. Returns the new status, or None
    when another copy of the job already routed it."""
    batch = Batch.objects.select_related("client").get(pk=batch_id)
    now = timezone.now()
    flagged = Message.objects.filter(batch_id=batch_id, worst_severity__in=FLAGGED).exists()
    unvalidated = Message.objects.filter(batch_id=batch_id, validated_at__isnull=True).exists()
    auto = batch.client.review_policy == ReviewPolicy.AUTO_APPROVE_CLEAN
    # A message the validators never reached is unknown, and unknown is not clean.
    if auto and not flagged and not unvalidated:
        to, fields = BatchStatus.APPROVED, {"decided_at": now, "entered_review_at": None}
    else:
        to, fields = BatchStatus.IN_REVIEW, {"entered_review_at": now}
    with transaction.atomic():
        if not try_move_batch(batch_id=batch_id, expected=BatchStatus.VALIDATING, to=to, **fields):
            return None
        reason = "" if to == BatchStatus.IN_REVIEW else "no findings; client auto-approves clean batches"
        record_event(
            actor=None, action="batch_routed", at=now, batch_id=batch.pk,
            from_state=BatchStatus.VALIDATING, to_state=to, reason=reason,
            data={"flagged": flagged},
        )
        if to == BatchStatus.APPROVED:
            _queue_approved_messages(batch_id=batch_id, at=now)
            enqueue_after_commit("send", "apps.pipeline.jobs.send_batch", batch_id)
    return to


def batch_approve(*, batch_id: int, actor) -> None:
    now = timezone.now()
    with transaction.atomic():
        # The conditional update comes first: on PostgreSQL it holds the batch row, so an edit
        # waiting on that row cannot slip a new blocking finding in behind the check below.
        move_batch(
            batch_id=batch_id, expected=BatchStatus.IN_REVIEW, to=BatchStatus.APPROVED,
            decided_at=now, decided_by=actor,
        )
        blocking = Finding.objects.filter(
            message__batch_id=batch_id, message__excluded=False, severity=Severity.BLOCK
        ).count()
        if blocking:
            raise ApprovalRefused(
                f"{blocking} blocking finding(s) remain in included messages: fix those messages "
                "or exclude them before approving."
            )
        if not Message.objects.filter(batch_id=batch_id, excluded=False).exists():
            raise ApprovalRefused("Every message is excluded: reject the batch instead.")
        queued = _queue_approved_messages(batch_id=batch_id, at=now)
        record_event(
            actor=actor, action="batch_approved", at=now, batch_id=batch_id,
            from_state=BatchStatus.IN_REVIEW, to_state=BatchStatus.APPROVED,
            data={"messages_approved": queued},
        )
        enqueue_after_commit("send", "apps.pipeline.jobs.send_batch", batch_id)


def batch_reject(*, batch_id: int, actor, reason: str) -> None:
    reason = (reason or "").strip()
    if not reason:
        raise ServiceError("Say why the batch is rejected.")
    now = timezone.now()
    with transaction.atomic():
        move_batch(
            batch_id=batch_id, expected=BatchStatus.IN_REVIEW, to=BatchStatus.REJECTED,
            decided_at=now, decided_by=actor, decision_reason=reason,
        )
        record_event(
            actor=actor, action="batch_rejected", at=now, batch_id=batch_id,
            from_state=BatchStatus.IN_REVIEW, to_state=BatchStatus.REJECTED, reason=reason,
        )


def _lock_batch_in_review(batch_id: int) -> Batch:
    # select_for_update serialises edits with approval on PostgreSQL; on SQLite the
    # IMMEDIATE transaction mode already serialises writers.
    batch = Batch.objects.select_for_update().get(pk=batch_id)
    if batch.status != BatchStatus.IN_REVIEW:
        raise TransitionConflict(f"Batch {batch_id}", BatchStatus.IN_REVIEW, batch.status)
    return batch


def message_edit(*, message_id: int, actor, subject: str, body: str, expected_hash: str) -> str:
    """A reviewer's edit; re-validates the message. `expected_hash` is the content the reviewer
    saw: if it changed meanwhile, the edit is refused rather than overwriting someone else's."""
    now = timezone.now()
    with transaction.atomic():
        message = Message.objects.select_related("prospect").get(pk=message_id)
        _lock_batch_in_review(message.batch_id)
        new_hash = content_hash(recipient=message.recipient, subject=subject, body=body)
        changed = Message.objects.filter(pk=message_id, content_hash=expected_hash).update(
            subject=subject, body=body, content_hash=new_hash
        )
        if changed != 1:
            raise TransitionConflict(f"Message {message_id}", "as you saw it", "changed by someone else")
        before = {"subject": message.subject, "body": message.body}
        message.subject, message.body, message.content_hash = subject, body, new_hash
        worst = message_revalidate(message=message)
        record_event(
            actor=actor, action="message_edited", at=now, batch_id=message.batch_id,
            message_id=message.pk, data={"before": before, "after": {"subject": subject, "body": body},
                                   "worst_severity_after": worst},
        )
    return worst


def message_exclude(*, message_id: int, actor, reason: str) -> None:
    reason = (reason or "").strip()
    if not reason:
        raise ServiceError("Say why the message is excluded.")
    now = timezone.now()
    with transaction.atomic():
        message = Message.objects.get(pk=message_id)
        _lock_batch_in_review(message.batch_id)
        if Message.objects.filter(pk=message_id, excluded=False).update(
            excluded=True, exclusion_reason=reason
        ) != 1:
            raise TransitionConflict(f"Message {message_id}", "included", "excluded")
        record_event(
            actor=actor, action="message_excluded", at=now, batch_id=message.batch_id,
            message_id=message.pk, from_state="included", to_state="excluded", reason=reason,
        )


def finding_apply_fix(*, finding_id: int, actor) -> str:
    """Apply one finding's suggested replacement to its message's text, as an audited edit."""
    finding = Finding.objects.select_related("message").get(pk=finding_id)
    message = finding.message
    if finding.suggestion is None or finding.start is None or finding.field not in ("subject", "body"):
        raise ServiceError("This finding has no suggested fix: edit the message instead.")
    texts = {"subject": message.subject, "body": message.body}
    text = texts[finding.field]
    texts[finding.field] = text[: finding.start] + finding.suggestion + text[finding.end :]
    return message_edit(
        message_id=message.pk, actor=actor, subject=texts["subject"], body=texts["body"],
        expected_hash=message.content_hash,
    )


def batch_approve_by_client(*, batch_id: int, actor) -> None:
    """A client's approver approves their own batch, where the client allows it, and only a
    batch with no findings at all: anything flagged stays for a reviewer."""
    from apps.core.models import ClientRole

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
        if Finding.objects.filter(
            message__batch_id=batch_id, message__excluded=False, severity__in=FLAGGED
        ).exists():
            raise ApprovalRefused("This batch has findings: a reviewer must decide it.")
