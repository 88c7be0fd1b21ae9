"""A person resolves an unknown send: an operator looked at the evidence (the attempts, the
mail server's log) and decides the message was sent, or is to be sent again. Each decision is
audited, and the batch follows its messages (sent again, or sent once none is in doubt).
"""

from datetime import datetime

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from apps.core.audit import Actor, AuditAction, record_event
from apps.core.errors import ServiceError, TransitionConflict
from apps.core.models import Batch, BatchStatus, Message, SendStatus
from apps.core.queueing import SEND_BATCH, enqueue_after_commit
from apps.core.transitions import try_move_batch

# The send loop's own reading of a batch's outcome, which a resolution finishes the same way.
from apps.sending import contacts
from apps.sending.services import OPEN_STATES, _lock_batches, _outcome_counts

RESOLVE_SENT, RESOLVE_RESEND = "sent", "resend"


def unknown_resolve(*, message_id: int, actor: Actor, decision: str, note: str = "") -> None:
    """An operator looked at the evidence (the attempts, the mail server's log): the message
    was sent, or it was not and is to be sent again. Either way it is audited."""
    unknown_resolve_many(message_ids=[message_id], actor=actor, decision=decision, note=note)


def unknown_resolve_many(*, message_ids: list[int], actor: Actor, decision: str, note: str = ""
                         ) -> int:
    """Resolve several unknown sends with one decision, all or none, in one transaction: one
    conditional update and one audit event per message. If any of them is no longer unknown
    (another operator resolved it first) nothing is resolved and TransitionConflict says which
    and how, since the decision was taken on a page that no longer holds. Each batch left
    with no unknown message is sent; one with a message to send again is sending again.
    Returns how many messages were resolved."""
    if decision not in (RESOLVE_SENT, RESOLVE_RESEND):
        raise ServiceError(f"Decide 'sent' or 'resend', not {decision!r}.")
    ids = sorted(set(message_ids))
    if not ids:
        raise ServiceError("Choose the messages to resolve.")
    now = timezone.now()
    note = note.strip()
    with transaction.atomic():
        batch_of = dict(Message.objects.filter(pk__in=ids).values_list("pk", "batch_id"))
        missing = [pk for pk in ids if pk not in batch_of]
        if missing:
            raise ServiceError(f"Message {missing[0]} does not exist.")
        batch_ids = sorted(set(batch_of.values()))
        # Batch rows locked in id order (no deadlock between two bulk resolutions), then the
        # messages: a second operator waits here and then finds them resolved.
        _lock_batches(batch_ids)
        for message_id in ids:
            _resolve_one(message_id, batch_of[message_id], actor, decision, note, now)
        for batch_id in batch_ids:
            _after_resolution(batch_id, actor, decision, now)
    return len(ids)


def _resolve_one(message_id: int, batch_id: int, actor: Actor, decision: str, note: str,
                 now: datetime) -> None:
    if decision == RESOLVE_SENT:
        changed = Message.objects.filter(pk=message_id, send_status=SendStatus.UNKNOWN).update(
            send_status=SendStatus.SENT, sent_at=now
        )
        if changed:
            contacts.record_sent([message_id], now)  # the re-contact cap counts it
    else:
        changed = Message.objects.filter(
            pk=message_id, send_status=SendStatus.UNKNOWN, approved_hash=F("content_hash"),
            excluded=False,
        ).update(send_status=SendStatus.QUEUED, send_claimed_at=None)
    if not changed:
        actual = Message.objects.get(pk=message_id)
        if decision == RESOLVE_RESEND and actual.send_status == SendStatus.UNKNOWN:
            raise ServiceError(
                f"Message {message_id}: its content is no longer the approved content: not resent."
            )
        raise TransitionConflict(
            f"Message {message_id}{_resolved_by(actual)}", SendStatus.UNKNOWN, actual.send_status
        )
    record_event(
        actor=actor, action=AuditAction(f"unknown_resolved_{decision}"), at=now,
        batch_id=batch_id, message_id=message_id, from_state=SendStatus.UNKNOWN,
        to_state=SendStatus.SENT if decision == RESOLVE_SENT else SendStatus.QUEUED, reason=note,
    )


def _resolved_by(message: Message) -> str:
    """Who resolved it, for the operator who came second."""
    resolved = [AuditAction.UNKNOWN_RESOLVED_SENT, AuditAction.UNKNOWN_RESOLVED_RESEND]
    event = message.events.filter(action__in=resolved).order_by("-created_at", "-pk").first()
    if event is None:
        return ""
    return (f" (resolved as {event.action.removeprefix('unknown_resolved_')} by "
            f"{event.actor_label} at {event.created_at:%Y-%m-%d %H:%M:%S} UTC)")


def _after_resolution(batch_id: int, actor: Actor, decision: str, now: datetime) -> None:
    """The batch follows its messages: one to send again sends the batch again; the last
    unknown resolved as sent makes a batch that needed attention sent."""
    status = Batch.objects.filter(pk=batch_id).values_list("status", flat=True).get()
    if decision == RESOLVE_RESEND:
        # A finished batch sends again; one still sending picks the message up as it goes.
        # ("sent" too: a batch finished before needs_attention existed.)
        if status in (BatchStatus.NEEDS_ATTENTION, BatchStatus.SENT) and try_move_batch(
            batch_id=batch_id, expected=status, to=BatchStatus.SENDING, sent_at=None
        ):
            record_event(
                actor=actor, action=AuditAction.BATCH_SENDING, at=now, batch_id=batch_id,
                from_state=status, to_state=BatchStatus.SENDING,
                reason="messages whose delivery could not be confirmed are sent again",
            )
        enqueue_after_commit(SEND_BATCH, batch_id)
        return
    if status != BatchStatus.NEEDS_ATTENTION:
        return
    counts = _outcome_counts(batch_id)
    if counts[SendStatus.UNKNOWN] or Message.objects.filter(
        batch_id=batch_id, send_status__in=OPEN_STATES
    ).exists():
        return
    if try_move_batch(batch_id=batch_id, expected=BatchStatus.NEEDS_ATTENTION,
                      to=BatchStatus.SENT, sent_at=now):
        record_event(
            actor=actor, action=AuditAction.BATCH_SENT, at=now, batch_id=batch_id,
            from_state=BatchStatus.NEEDS_ATTENTION, to_state=BatchStatus.SENT, data=counts,
            reason="our team confirmed the delivery of every message",
        )
