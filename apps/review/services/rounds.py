"""Review rounds and claim spans: the time a batch spends in review, and who handled it.

Written by the claim and decision services in their own transaction (the caller holds the
batch row), from the one clock the caller read.
"""

from datetime import datetime

from django.contrib.auth.models import User
from django.db.models import Case, F, Max, Value, When

from apps.core.models import Batch, Message
from apps.review.models import Claim, ClaimSpan, ReviewRound


def open_round(batch_id: int, *, now: datetime) -> ReviewRound:
    """The batch's open round. The caller holds the batch row. A batch put in review without
    one (by an older version, or a fixture) gets it here, dated from entered_review_at."""
    round_ = ReviewRound.objects.filter(batch_id=batch_id, decided_at__isnull=True).first()
    if round_ is None:
        entered = Batch.objects.values_list("entered_review_at", flat=True).get(pk=batch_id)
        round_ = start_round(batch_id, entered_at=entered or now)
    return round_


def start_round(batch_id: int, *, entered_at: datetime) -> ReviewRound:
    last = ReviewRound.objects.filter(batch_id=batch_id).aggregate(n=Max("number"))["n"] or 0
    flagged = Message.objects.filter(
        batch_id=batch_id, excluded=False, worst_severity__in=("block", "review")
    ).count()
    return ReviewRound.objects.create(
        batch_id=batch_id, number=last + 1, entered_at=entered_at, flagged=flagged
    )


def close_span(round_: ReviewRound, *, at: datetime, reason: str) -> None:
    """End the open claim span of this round (if any) and add it to the round's handling."""
    span = ClaimSpan.objects.filter(round=round_, ended_at__isnull=True).first()
    if span is None:
        return
    ended = max(at, span.started_at)  # never negative, whatever the caller passes
    ClaimSpan.objects.filter(pk=span.pk).update(ended_at=ended, end_reason=reason)
    ReviewRound.objects.filter(pk=round_.pk).update(
        handling_seconds=F("handling_seconds") + (ended - span.started_at).total_seconds()
    )


def close_round(batch_id: int, *, actor: User | None, now: datetime, outcome: str) -> None:
    round_ = open_round(batch_id, now=now)
    close_span(round_, at=now, reason="decided")
    included = Message.objects.filter(batch_id=batch_id, excluded=False).count()
    # Decided without anyone claiming: it waited the whole time and nobody handled it.
    ReviewRound.objects.filter(pk=round_.pk).update(
        decided_at=now, decided_by=actor, outcome=outcome, messages=included,
        first_claimed_at=Case(
            When(first_claimed_at__isnull=True, then=Value(now)), default=F("first_claimed_at")
        ),
    )
    Claim.objects.filter(batch_id=batch_id).update(
        holder=None, claimed_at=None, last_active_at=None
    )
