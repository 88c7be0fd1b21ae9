"""Claims on batches in review: one reviewer at a time, lapsing after
REVIEW_CLAIM_IDLE_MINUTES without activity; an operator may reassign."""

from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from apps.core.audit import AuditAction, actor_label, record_event
from apps.core.errors import ServiceError, TransitionConflict
from apps.core.models import Batch, BatchStatus
from apps.core.transitions import last_actor
from apps.review.models import Claim, ClaimSpan, ReviewRound
from apps.review.services.rounds import close_span, open_round


class ClaimConflict(ServiceError):
    """Another reviewer holds the batch (and their claim has not lapsed)."""


def claim_idle() -> timedelta:
    return timedelta(minutes=settings.REVIEW_CLAIM_IDLE_MINUTES)


def lock_batch(batch_id: int, expected: str = BatchStatus.IN_REVIEW) -> Batch:
    # select_for_update serialises this batch's actions on PostgreSQL; on SQLite the
    # IMMEDIATE transaction mode already serialises writers. The conditional updates below
    # stay the real guard on both.
    batch = Batch.objects.select_for_update().filter(pk=batch_id).first()
    if batch is None or batch.status != expected:
        actual = batch.status if batch is not None else ""
        raise TransitionConflict(f"Batch {batch_id}", expected, actual, by=last_actor(batch_id))
    return batch


def _holder_message(claim: Claim) -> str:
    holder = claim.holder.get_username() if claim.holder else "someone"
    return (
        f"Batch {claim.batch_id} is claimed by {holder} "
        f"(since {claim.claimed_at:%H:%M} UTC): it is theirs until they finish or their claim "
        "lapses."
    )


def _live(claim: Claim, *, now: datetime) -> bool:
    """The holder was active within the idle time (a claim without activity is not live)."""
    return claim.last_active_at is not None and claim.last_active_at >= now - claim_idle()


def check_hold(batch_id: int, *, actor: User | None, now: datetime) -> None:
    """An action on a batch someone else holds is refused; the holder's action keeps the
    claim alive. A free batch may be acted on (the admin claims it first)."""
    if actor is None:
        return
    # The holder acting is the usual case: one update, and the claim is read only otherwise.
    if Claim.objects.filter(batch_id=batch_id, holder=actor).update(last_active_at=now):
        return
    claim = Claim.objects.select_related("holder").filter(batch_id=batch_id).first()
    if claim is None or claim.holder_id is None:
        return
    if _live(claim, now=now):
        raise ClaimConflict(_holder_message(claim))


def _take_claim(batch_id: int, *, actor: User, now: datetime, action: AuditAction,
                reason: str = "") -> bool:
    """Give the batch to `actor` if free or lapsed (or, for a reassignment, whatever its state).
    Returns False when the actor already held it."""
    claim = Claim.objects.select_related("holder").filter(batch_id=batch_id).first()
    if claim is not None and claim.holder_id == actor.pk:
        Claim.objects.filter(pk=claim.pk, holder=actor).update(last_active_at=now)
        return False
    round_ = open_round(batch_id, now=now)
    if claim is None:
        # The batch's first claim. The caller holds the batch row, so nobody else can create
        # it meanwhile: a plain create, already held, saves get_or_create's savepoint and the
        # update after it.
        Claim.objects.create(batch_id=batch_id, holder=actor, claimed_at=now, last_active_at=now)
        previous, lapsed = "", False
    else:
        lapsed = _hand_over(claim, actor=actor, now=now, action=action, round_=round_)
        previous = claim.holder.get_username() if claim.holder else ""
    ClaimSpan.objects.create(round=round_, reviewer=actor, started_at=now)
    if round_.first_claimed_at is None:  # (the caller holds the batch row: no one else sets it)
        ReviewRound.objects.filter(pk=round_.pk, first_claimed_at__isnull=True).update(
            first_claimed_at=now
        )
    record_event(
        actor=actor, action=action, at=now, batch_id=batch_id, from_state=previous,
        to_state=actor.get_username(), reason=reason,
        data={"previous_holder": previous, "previous_lapsed": lapsed},
    )
    return True


def _hand_over(claim: Claim, *, actor: User, now: datetime, action: AuditAction,
               round_: ReviewRound) -> bool:
    """Move an existing claim to `actor`, ending the previous holder's span; whether their
    claim had lapsed."""
    lapsed = claim.holder_id is not None and not _live(claim, now=now)
    free = claim.holder_id is None or lapsed
    if action == AuditAction.BATCH_CLAIMED and not free:
        raise ClaimConflict(_holder_message(claim))
    # Conditional on the holder we read: a second claimant who read the same row changes nothing.
    won = Claim.objects.filter(pk=claim.pk, holder_id=claim.holder_id).update(
        holder=actor, claimed_at=now, last_active_at=now
    )
    if won != 1:
        winner = Claim.objects.select_related("holder").filter(pk=claim.pk).first()
        who = winner.holder.get_username() if winner and winner.holder else "someone else"
        raise ClaimConflict(f"Batch {claim.batch_id} was just claimed by {who}.")
    if claim.holder_id is not None:
        # A lapsed claim's handling ends at its last activity: idle time is not handling.
        ended = (claim.last_active_at or now) if lapsed else now
        close_span(round_, at=ended, reason="lapsed" if lapsed else "reassigned")
    return lapsed


def batch_claim(*, batch_id: int, actor: User) -> bool:
    """A reviewer takes a batch in review. Refused while another reviewer's claim is live.
    Returns False when the reviewer already held it (nothing recorded)."""
    now = timezone.now()
    with transaction.atomic():
        lock_batch(batch_id)
        return _take_claim(batch_id, actor=actor, now=now, action=AuditAction.BATCH_CLAIMED)


def claim_reassign(*, batch_id: int, actor: User, to_user: User) -> None:
    """An operator hands a batch to another reviewer, whoever holds it now."""
    if not actor.has_perm("review.reassign_claim"):
        raise ServiceError("Only an operator can reassign a batch.")
    now = timezone.now()
    with transaction.atomic():
        lock_batch(batch_id)
        if not _take_claim(batch_id, actor=to_user, now=now, action=AuditAction.CLAIM_REASSIGNED,
                           reason=f"by {actor_label(actor)}"):
            raise ServiceError(f"Batch {batch_id} is already held by {to_user.get_username()}.")


def claim_release(*, batch_id: int, actor: User) -> None:
    now = timezone.now()
    with transaction.atomic():
        lock_batch(batch_id)
        if Claim.objects.filter(batch_id=batch_id, holder=actor).update(
            holder=None, claimed_at=None, last_active_at=None
        ) != 1:
            raise ClaimConflict(f"You do not hold batch {batch_id}.")
        close_span(open_round(batch_id, now=now), at=now, reason="released")
        record_event(actor=actor, action=AuditAction.CLAIM_RELEASED, at=now, batch_id=batch_id,
                     from_state=actor.get_username())
