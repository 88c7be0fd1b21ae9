"""Review: routing validated batches, the holding queue's claims, and the reviewer's decisions.

Each function is one transaction: a conditional state change (the loser is told), the audit
event, and follow-up jobs enqueued only after commit. Time in review (apps/review/models.py
ReviewRound, ClaimSpan) is written in the same transaction, from one clock: timezone.now().
"""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db import connection, transaction
from django.db.models import Case, F, Max, Value, When
from django.urls import reverse
from django.utils import timezone

from apps.core.audit import actor_label, record_event
from apps.core.errors import ApprovalRefused, ServiceError, TransitionConflict
from apps.core.models import (
    AuditEvent, Batch, BatchStatus, Finding, Message, ReviewPolicy, SendStatus, Severity,
    content_hash,
)
from apps.core.queueing import enqueue_after_commit
from apps.core.transitions import last_actor, move_batch, try_move_batch
from apps.review.models import (
    AtRiskNotice, Claim, ClaimSpan, RejectReason, ReviewRound, SlaTarget,
)
from apps.validation.services import (
    message_revalidate, messages_revalidate,
)

log = logging.getLogger(__name__)
FLAGGED = (Severity.BLOCK, Severity.REVIEW)
REVALIDATE_CHUNK = 500


class ClaimConflict(ServiceError):
    """Another reviewer holds the batch (and their claim has not lapsed)."""


def claim_idle() -> timedelta:
    return timedelta(minutes=settings.REVIEW_CLAIM_IDLE_MINUTES)


def approval_grace() -> timedelta:
    return timedelta(seconds=settings.REVIEW_GRACE_SECONDS)


# --- Review rounds and claim spans (time in review) ------------------------------------------

def _open_round(batch_id: int, *, now: datetime) -> ReviewRound:
    """The batch's open round. The caller holds the batch row. A batch put in review without
    one (by an older version, or a fixture) gets it here, dated from entered_review_at."""
    round_ = ReviewRound.objects.filter(batch_id=batch_id, decided_at__isnull=True).first()
    if round_ is None:
        entered = Batch.objects.values_list("entered_review_at", flat=True).get(pk=batch_id)
        round_ = _start_round(batch_id, entered_at=entered or now)
    return round_


def _start_round(batch_id: int, *, entered_at: datetime) -> ReviewRound:
    last = ReviewRound.objects.filter(batch_id=batch_id).aggregate(n=Max("number"))["n"] or 0
    return ReviewRound.objects.create(batch_id=batch_id, number=last + 1, entered_at=entered_at)


def _close_span(round_: ReviewRound, *, at: datetime, reason: str) -> None:
    """End the open claim span of this round (if any) and add it to the round's handling."""
    span = ClaimSpan.objects.filter(round=round_, ended_at__isnull=True).first()
    if span is None:
        return
    ended = max(at, span.started_at)  # never negative, whatever the caller passes
    ClaimSpan.objects.filter(pk=span.pk).update(ended_at=ended, end_reason=reason)
    ReviewRound.objects.filter(pk=round_.pk).update(
        handling_seconds=F("handling_seconds") + (ended - span.started_at).total_seconds()
    )


def _close_round(batch_id: int, *, actor, now: datetime, outcome: str) -> None:
    round_ = _open_round(batch_id, now=now)
    _close_span(round_, at=now, reason="decided")
    included = Message.objects.filter(batch_id=batch_id, excluded=False).count()
    # Decided without anyone claiming: it waited the whole time and nobody handled it.
    ReviewRound.objects.filter(pk=round_.pk).update(
        decided_at=now, decided_by=actor, outcome=outcome, messages=included,
        first_claimed_at=Case(
            When(first_claimed_at__isnull=True, then=Value(now)), default=F("first_claimed_at")
        ),
    )
    Claim.objects.filter(batch_id=batch_id).update(holder=None, claimed_at=None, last_active_at=None)


# --- Claims -------------------------------------------------------------------------------

def _lock_batch(batch_id: int, expected: str = BatchStatus.IN_REVIEW) -> Batch:
    # select_for_update serialises this batch's actions on PostgreSQL; on SQLite the
    # IMMEDIATE transaction mode already serialises writers. The conditional updates below
    # stay the real guard on both.
    batch = Batch.objects.select_for_update().filter(pk=batch_id).first()
    if batch is None or batch.status != expected:
        actual = batch.status if batch is not None else ""
        raise TransitionConflict(f"Batch {batch_id}", expected, actual, by=last_actor(batch_id))
    return batch


def _holder_message(claim: Claim) -> str:
    return (
        f"Batch {claim.batch_id} is claimed by {claim.holder.get_username()} "
        f"(since {claim.claimed_at:%H:%M} UTC): it is theirs until they finish or their claim lapses."
    )


def _check_hold(batch_id: int, *, actor, now: datetime) -> None:
    """An action on a batch someone else holds is refused; the holder's action keeps the
    claim alive. A free batch may be acted on (the admin claims it first)."""
    if actor is None:
        return
    claim = Claim.objects.select_related("holder").filter(batch_id=batch_id).first()
    if claim is None or claim.holder_id is None:
        return
    if claim.holder_id == actor.pk:
        Claim.objects.filter(pk=claim.pk, holder=actor).update(last_active_at=now)
    elif claim.last_active_at >= now - claim_idle():
        raise ClaimConflict(_holder_message(claim))


def _take_claim(batch_id: int, *, actor, now: datetime, action: str, reason: str = "") -> bool:
    """Give the batch to `actor` if free or lapsed (or, for a reassignment, whatever its state).
    Returns False when the actor already held it."""
    claim, _ = Claim.objects.select_related("holder").get_or_create(batch_id=batch_id)
    if claim.holder_id == actor.pk:
        Claim.objects.filter(pk=claim.pk, holder=actor).update(last_active_at=now)
        return False
    lapsed = claim.holder_id is not None and claim.last_active_at < now - claim_idle()
    free = claim.holder_id is None or lapsed
    if action == "batch_claimed" and not free:
        raise ClaimConflict(_holder_message(claim))
    # Conditional on the holder we read: a second claimant who read the same row changes nothing.
    won = Claim.objects.filter(pk=claim.pk, holder_id=claim.holder_id).update(
        holder=actor, claimed_at=now, last_active_at=now
    )
    if won != 1:
        winner = Claim.objects.select_related("holder").filter(pk=claim.pk).first()
        who = winner.holder.get_username() if winner and winner.holder_id else "someone else"
        raise ClaimConflict(f"Batch {batch_id} was just claimed by {who}.")
    round_ = _open_round(batch_id, now=now)
    if claim.holder_id is not None:
        # A lapsed claim's handling ends at its last activity: idle time is not handling.
        ended = claim.last_active_at if lapsed else now
        _close_span(round_, at=ended, reason="lapsed" if lapsed else "reassigned")
    ClaimSpan.objects.create(round=round_, reviewer=actor, started_at=now)
    ReviewRound.objects.filter(pk=round_.pk, first_claimed_at__isnull=True).update(first_claimed_at=now)
    previous = claim.holder.get_username() if claim.holder_id else ""
    record_event(
        actor=actor, action=action, at=now, batch_id=batch_id, from_state=previous,
        to_state=actor.get_username(), reason=reason,
        data={"previous_holder": previous, "previous_lapsed": lapsed},
    )
    return True


def batch_claim(*, batch_id: int, actor) -> bool:
    """A reviewer takes a batch in review. Refused while another reviewer's claim is live.
    Returns False when the reviewer already held it (nothing recorded)."""
    now = timezone.now()
    with transaction.atomic():
        _lock_batch(batch_id)
        return _take_claim(batch_id, actor=actor, now=now, action="batch_claimed")


def claim_reassign(*, batch_id: int, actor, to_user) -> None:
    """An operator hands a batch to another reviewer, whoever holds it now."""
    if not actor.has_perm("review.reassign_claim"):
        raise ServiceError("Only an operator can reassign a batch.")
    now = timezone.now()
    with transaction.atomic():
        _lock_batch(batch_id)
        if not _take_claim(batch_id, actor=to_user, now=now, action="claim_reassigned",
                           reason=f"by {actor_label(actor)}"):
            raise ServiceError(f"Batch {batch_id} is already held by {to_user.get_username()}.")


def claim_release(*, batch_id: int, actor) -> None:
    now = timezone.now()
    with transaction.atomic():
        _lock_batch(batch_id)
        if Claim.objects.filter(batch_id=batch_id, holder=actor).update(
            holder=None, claimed_at=None, last_active_at=None
        ) != 1:
            raise ClaimConflict(f"You do not hold batch {batch_id}.")
        _close_span(_open_round(batch_id, now=now), at=now, reason="released")
        record_event(actor=actor, action="claim_released", at=now, batch_id=batch_id,
                     from_state=actor.get_username())


# --- Routing and decisions ------------------------------------------------------------------

def _queue_approved_messages(*, batch_id: int, at) -> int:
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
        if to == BatchStatus.IN_REVIEW:
            _start_round(batch_id, entered_at=now)
        else:
            _queue_approved_messages(batch_id=batch_id, at=now)
            enqueue_after_commit("send", "apps.pipeline.jobs.send_batch", batch_id)
    return to


def batch_approve(*, batch_id: int, actor) -> None:
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
        _check_hold(batch_id, actor=actor, now=now)
        blocking = Finding.objects.of_included_messages([batch_id]).filter(severity=Severity.BLOCK).count()
        if blocking:
            raise ApprovalRefused(
                f"{blocking} blocking finding(s) remain in included messages: fix those messages "
                "or exclude them before approving."
            )
        if not Message.objects.filter(batch_id=batch_id, excluded=False).exists():
            raise ApprovalRefused("Every message is excluded: reject the batch instead.")
        queued = _queue_approved_messages(batch_id=batch_id, at=now)
        _close_round(batch_id, actor=actor, now=now, outcome="approved")
        record_event(
            actor=actor, action="batch_approved", at=now, batch_id=batch_id,
            from_state=BatchStatus.IN_REVIEW, to_state=BatchStatus.APPROVED,
            data={"messages_approved": queued, "send_not_before": send_not_before.isoformat()},
        )
        # With no grace the job goes straight to the queue; otherwise the scheduler holds it.
        at = send_not_before if send_not_before > now else None
        enqueue_after_commit("send", "apps.pipeline.jobs.send_batch", batch_id, at=at)


def batch_reject(*, batch_id: int, actor, reason: str, code: str = RejectReason.OTHER) -> None:
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
        _check_hold(batch_id, actor=actor, now=now)
        _close_round(batch_id, actor=actor, now=now, outcome="rejected")
        record_event(
            actor=actor, action="batch_rejected", at=now, batch_id=batch_id,
            from_state=BatchStatus.IN_REVIEW, to_state=BatchStatus.REJECTED, reason=reason,
            data={"reason_code": code},
        )


def batch_recall(*, batch_id: int, actor, reason: str = "") -> None:
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
            raise ServiceError("Only the reviewer who approved the batch or an operator can recall it.")
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
        _start_round(batch_id, entered_at=now)
        record_event(
            actor=actor, action="batch_recalled", at=now, batch_id=batch_id,
            from_state=BatchStatus.APPROVED, to_state=BatchStatus.IN_REVIEW,
            reason=(reason or "").strip(), data={"approvals_cleared": cleared},
        )


# --- Messages ---------------------------------------------------------------------------------

def _lock_batch_in_review(batch_id: int, *, actor=None, now=None) -> Batch:
    batch = _lock_batch(batch_id)
    _check_hold(batch_id, actor=actor, now=now or timezone.now())
    return batch


def message_edit(*, message_id: int, actor, subject: str, body: str, expected_hash: str) -> str:
    """A reviewer's edit; re-validates the message. `expected_hash` is the content the reviewer
    saw: if it changed meanwhile, the edit is refused rather than overwriting someone else's."""
    now = timezone.now()
    with transaction.atomic():
        message = Message.objects.select_related("prospect").get(pk=message_id)
        _lock_batch_in_review(message.batch_id, actor=actor, now=now)
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
        _lock_batch_in_review(message.batch_id, actor=actor, now=now)
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
    finding = Finding.objects.select_related("message").filter(pk=finding_id).first()
    if finding is None:
        raise ServiceError("That finding is gone: the message was changed and re-validated meanwhile.")
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


@dataclass(frozen=True)
class FindingGroup:
    """Findings that read the same: one rule, one field, the same flagged text and suggestion."""

    rule_code: str
    field: str
    text: str
    suggestion: str


@dataclass
class BulkFixResult:
    fixed: int = 0
    skipped: int = 0  # matched the group when shown, but changed or gone since


def _apply_spans(text: str, spans: list[tuple[int, int]], suggestion: str) -> str:
    for start, end in sorted(spans, reverse=True):  # right to left: offsets stay valid
        text = text[:start] + suggestion + text[end:]
    return text


def findings_fix_group(
    *, batch_id: int, actor, group: FindingGroup, message_ids: list[int] | None = None
) -> BulkFixResult:
    """Apply a group's suggested fix to every included message with it (or only to
    `message_ids`), re-validate those messages, and write one audit event per message."""
    if group.field not in ("subject", "body"):
        raise ServiceError("Only subject and body findings have a fix to apply.")
    now = timezone.now()
    result = BulkFixResult()
    with transaction.atomic():
        _lock_batch_in_review(batch_id, actor=actor, now=now)
        findings = Finding.objects.of_included_messages([batch_id]).filter(
            rule_code=group.rule_code,
            field=group.field, suggestion=group.suggestion, start__isnull=False,
        ).values_list("message_id", "start", "end")
        if message_ids is not None:
            findings = findings.filter(message_id__in=message_ids)
        messages = Message.objects.in_bulk({m for m, _, _ in findings})
        spans: dict[int, list[tuple[int, int]]] = {}
        for message_id, start, end in findings:
            if getattr(messages[message_id], group.field)[start:end] == group.text:
                spans.setdefault(message_id, []).append((start, end))
        if message_ids is not None:
            result.skipped = len(set(message_ids) - set(spans))
        edits = []
        for message_id, message_spans in spans.items():
            message = messages[message_id]
            before = {"subject": message.subject, "body": message.body}
            setattr(message, group.field,
                    _apply_spans(getattr(message, group.field), message_spans, group.suggestion))
            old_hash = message.content_hash
            message.content_hash = content_hash(
                recipient=message.recipient, subject=message.subject, body=message.body
            )
            edits.append((message, old_hash, before))
        won = _update_texts_if_unchanged(edits)
        changed, events = [], []
        for message, _, before in edits:
            if message.pk not in won:
                result.skipped += 1
                continue
            changed.append(message)
            events.append(AuditEvent(
                created_at=now, actor=actor, actor_label=actor_label(actor), action="finding_fixed",
                batch_id=batch_id, message_id=message.pk, reason=f"{group.rule_code}: {group.text!r}",
                data={"before": before, "after": {"subject": message.subject, "body": message.body},
                      "rule_code": group.rule_code, "text": group.text, "suggestion": group.suggestion},
            ))
        _revalidate(changed)
        AuditEvent.objects.bulk_create(events, batch_size=1000)
        result.fixed = len(changed)
    return result


UPDATE_CHUNK = 1000


def _update_texts_if_unchanged(edits: list[tuple[Message, str, dict]]) -> set[int]:
    """Write the new texts, each only if the message still has the hash it was read with (the
    conditional update, a thousand rows per statement). Returns the ids that were written."""
    won: set[int] = set()
    for start in range(0, len(edits), UPDATE_CHUNK):
        chunk = edits[start : start + UPDATE_CHUNK]
        values = ", ".join(["(%s, %s, %s, %s, %s)"] * len(chunk))
        params = [
            p for m, old_hash, _ in chunk for p in (m.pk, old_hash, m.subject, m.body, m.content_hash)
        ]
        with connection.cursor() as cursor:
            cursor.execute(
                f"""WITH v(id, old_hash, subject, body, new_hash) AS (VALUES {values})
                    UPDATE core_message SET subject = v.subject, body = v.body, content_hash = v.new_hash
                    FROM v WHERE core_message.id = CAST(v.id AS bigint) AND core_message.content_hash = v.old_hash
                    RETURNING core_message.id""",
                params,
            )
            won.update(row[0] for row in cursor.fetchall())
    return won


def _revalidate(messages: list[Message]) -> None:
    """Re-run the rules on these messages of one batch: the batch rules included (a duplicate
    or suppressed recipient stays flagged after a fix), one resolver for all of them."""
    if not messages:
        return
    prospects = {p.pk: p for p in _prospects_of(messages)}
    batch = Batch.objects.get(pk=messages[0].batch_id)
    for start in range(0, len(messages), REVALIDATE_CHUNK):
        chunk = messages[start : start + REVALIDATE_CHUNK]
        for message in chunk:
            message.prospect = prospects[message.prospect_id]
            message.batch = batch
        messages_revalidate(messages=chunk)


def _prospects_of(messages: list[Message]):
    from apps.core.models import Prospect

    return Prospect.objects.filter(pk__in={m.prospect_id for m in messages})


# --- SLA: at-risk notices -------------------------------------------------------------------

def notify_at_risk(*, now: datetime | None = None) -> int:
    """E-mail the operators about each open round past its tier's at-risk point, once per
    round (the AtRiskNotice row is the once). Returns how many were notified. Safe to run
    from several workers: the unique row decides who sends."""
    now = now or timezone.now()
    targets = {t.tier: t for t in SlaTarget.objects.all()}
    rounds = ReviewRound.objects.filter(
        decided_at__isnull=True, at_risk_notice__isnull=True, batch__status=BatchStatus.IN_REVIEW
    ).select_related("batch__client", "batch__campaign")
    recipients = list(
        get_user_model().objects.filter(groups__name="operator", is_active=True)
        .exclude(email="").values_list("email", flat=True).distinct()
    )
    notified = 0
    for round_ in rounds:
        target = targets.get(round_.batch.client.tier)
        if target is None or now - round_.entered_at < target.at_risk_after:
            continue
        with transaction.atomic():
            _, created = AtRiskNotice.objects.get_or_create(round=round_, defaults={"sent_at": now})
            if not created:
                continue
            deadline = round_.entered_at + target.target
            record_event(
                actor=None, action="batch_at_risk", at=now, batch_id=round_.batch_id,
                reason=f"SLA deadline {deadline:%Y-%m-%d %H:%M} UTC", data={"round": round_.number},
            )
            if recipients:
                transaction.on_commit(_alert_mail(round_, deadline, recipients))
            notified += 1
    return notified


def _alert_mail(round_: ReviewRound, deadline: datetime, recipients: list[str]):
    batch = round_.batch
    subject = f"Batch {batch.pk} ({batch.client.name}) is at risk of missing its review SLA"
    body = (
        f"Batch {batch.pk} of {batch.client.name} ({batch.campaign.name}) entered review at "
        f"{round_.entered_at:%Y-%m-%d %H:%M} UTC and must be decided by {deadline:%Y-%m-%d %H:%M} UTC "
        f"({batch.client.get_tier_display()} tier).\n\n"
        f"Review it: {settings.SITE_URL.rstrip('/')}"
        f"{reverse('admin:core_batch_change', args=[batch.pk])}\n"
    )
    return lambda: send_mail(subject, body, None, recipients)


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
        if Finding.objects.of_included_messages([batch_id]).filter(severity__in=FLAGGED).exists():
            raise ApprovalRefused("This batch has findings: a reviewer must decide it.")
