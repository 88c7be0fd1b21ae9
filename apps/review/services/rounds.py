"""Review rounds and claim spans: the time a batch spends in review, and who handled it.

Written by the claim and decision services in their own transaction (the caller holds the
batch row), from the one clock the caller read.
"""

from datetime import datetime

from django.contrib.auth.models import User
from django.db.models import Case, Count, F, Max, Subquery, Value, When
from django.db.models.functions import Coalesce

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
    handled = _end_span(round_, at=at, reason=reason)
    if handled is not None:
        ReviewRound.objects.filter(pk=round_.pk).update(
            handling_seconds=F("handling_seconds") + handled
        )


def _end_span(round_: ReviewRound, *, at: datetime, reason: str) -> float | None:
    """End the open claim span of this round; its seconds (None: no span was open)."""
    span = ClaimSpan.objects.filter(round=round_, ended_at__isnull=True).first()
    if span is None:
        return None
    ended = max(at, span.started_at)  # never negative, whatever the caller passes
    ClaimSpan.objects.filter(pk=span.pk).update(ended_at=ended, end_reason=reason)
    return (ended - span.started_at).total_seconds()


def close_round(batch_id: int, *, actor: User | None, now: datetime, outcome: str) -> None:
    round_ = open_round(batch_id, now=now)
    handled = _end_span(round_, at=now, reason="decided") or 0.0
    included = (
        Message.objects.filter(batch_id=batch_id, excluded=False)
        .values("batch_id").annotate(n=Count("pk")).values("n")
    )
    # One update for the span's handling, the decision and the size: a decision is on every
    # batch's path, so its round trips add up.
    ReviewRound.objects.filter(pk=round_.pk).update(
        decided_at=now, decided_by=actor, outcome=outcome,
        handling_seconds=F("handling_seconds") + handled,
        messages=Coalesce(Subquery(included), 0),
        # Decided without anyone claiming: it waited the whole time and nobody handled it.
        first_claimed_at=Case(
            When(first_claimed_at__isnull=True, then=Value(now)), default=F("first_claimed_at")
        ),
    )
    Claim.objects.filter(batch_id=batch_id).update(
        holder=None, claimed_at=None, last_active_at=None
    )
