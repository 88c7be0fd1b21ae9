"""A tier's target read from how its clients behave as they wait (reads only).

For every review round of the window we find when the client first showed impatience: the
second status check of the round (a repeated look is chasing; the first look is just looking)
or the withdrawal, whichever came first. Per wait bucket ("waited 30 to 60 minutes") we count
the rounds still waiting at the bucket's start with no sign yet (at risk), the signs that fell
in the bucket, and the waiting time the at-risk rounds spent in it. The rate is signs per hour
of waiting (a hazard rate), so buckets of different widths compare.

The suggestion: the baseline is the rate of the first bucket with enough rounds at risk and at
least one sign; the suggested target is the start of the first later bucket (with enough
rounds) whose rate is at least twice the baseline: the longest wait before impatience doubles.
No suggestion when the rate never doubles or the history is too thin; the evidence is shown
either way.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db.models import DateTimeField, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from apps.core.models import Tier
from apps.review.models import ReviewRound, StatusCheck

# Bucket edges in minutes; the last bucket is open-ended.
BUCKET_EDGES_MINUTES = (0, 15, 30, 60, 120, 240, 480, 960, 1440)
# Fewer rounds at risk than this and a bucket's rate says little: it neither sets the baseline
# nor triggers a suggestion.
MIN_AT_RISK = 5
DOUBLING = 2.0
WINDOW_DAYS = 90


@dataclass
class Bucket:
    start_minutes: int
    end_minutes: int | None  # None: open-ended
    at_risk: int = 0
    withdrawals: int = 0
    chases: int = 0
    waiting_hours: float = 0.0

    @property
    def signs(self) -> int:
        return self.withdrawals + self.chases

    @property
    def rate_per_hour(self) -> float | None:
        if self.waiting_hours <= 0:
            return None
        return self.signs / self.waiting_hours

    @property
    def label(self) -> str:
        if self.end_minutes is None:
            return f"{self.start_minutes} min and longer"
        return f"{self.start_minutes}–{self.end_minutes} min"


@dataclass
class TierEvidence:
    tier: str
    rounds: int
    buckets: list[Bucket] = field(default_factory=list)
    baseline: Bucket | None = None
    doubled_in: Bucket | None = None

    @property
    def suggested_minutes(self) -> int | None:
        return self.doubled_in.start_minutes if self.doubled_in is not None else None

    @property
    def tier_label(self) -> str:
        return Tier(self.tier).label

    @property
    def verdict(self) -> str:
        if self.baseline is None:
            return (f"Not enough history: no wait bucket has {MIN_AT_RISK} or more batches "
                    "waiting and a withdrawal or chase to compare against.")
        if self.doubled_in is None:
            return (f"Impatience never reached twice the {self.baseline.label} rate in this "
                    "history: nothing suggests a shorter target.")
        return (f"Withdrawals and chases per waiting hour double after {self.suggested_minutes} "
                f"minutes ({_rate(self.doubled_in)} against {_rate(self.baseline)} while "
                f"waiting {self.baseline.label}): suggested target {self.suggested_minutes} min.")


def _rate(bucket: Bucket) -> str:
    return f"{bucket.rate_per_hour:.2f}/h"


@dataclass
class _Round:
    tier: str
    entered_at: datetime
    ended_at: datetime  # decided, withdrawn, or now for a round still waiting
    withdrawn: bool
    chased_at: datetime | None = None

    @property
    def sign_at(self) -> datetime | None:
        """When impatience first showed, as a wait; None when it never did."""
        signs = [t for t in (self.chased_at, self.ended_at if self.withdrawn else None) if t]
        return min(signs) if signs else None


def _rounds(*, since: datetime, now: datetime) -> list[_Round]:
    # The round's second look, found by the database with one probe of the (batch, checked_at)
    # index per round: fetching every look to count them here cost more than the analysis.
    second_look = StatusCheck.objects.filter(
        batch_id=OuterRef("batch_id"), checked_at__gte=OuterRef("entered_at"),
        checked_at__lte=Coalesce(OuterRef("decided_at"), Value(now, output_field=DateTimeField())),
    ).order_by("checked_at").values("checked_at")[1:2]
    rows = (
        ReviewRound.objects.filter(entered_at__gte=since, entered_at__lt=now)
        .annotate(chased_at=Subquery(second_look))
        .values_list("batch__client__tier", "entered_at", "decided_at", "outcome", "chased_at")
    )
    return [
        _Round(tier=tier, entered_at=entered, ended_at=decided or now,
               withdrawn=outcome == "withdrawn", chased_at=chased)
        for tier, entered, decided, outcome, chased in rows
    ]


def _empty_buckets() -> list[Bucket]:
    ends = [*BUCKET_EDGES_MINUTES[1:], None]
    return [Bucket(start, end) for start, end in zip(BUCKET_EDGES_MINUTES, ends, strict=True)]


def _fill(buckets: list[Bucket], round_: _Round) -> None:
    sign = round_.sign_at
    # Waiting stops at the first sign (after it the round is no longer at risk) or the end.
    stop = (sign or round_.ended_at) - round_.entered_at
    for bucket in buckets:
        start = timedelta(minutes=bucket.start_minutes)
        if stop < start or (stop == start and sign is None):
            break
        end = timedelta(minutes=bucket.end_minutes) if bucket.end_minutes is not None else None
        bucket.at_risk += 1
        inside = min(stop, end) if end is not None else stop
        bucket.waiting_hours += (inside - start).total_seconds() / 3600
        if sign is not None and (end is None or stop < end):
            if round_.withdrawn and sign == round_.ended_at:
                bucket.withdrawals += 1
            else:
                bucket.chases += 1
            break


def _suggest(evidence: TierEvidence) -> None:
    enough = [
        b for b in evidence.buckets if b.at_risk >= MIN_AT_RISK and b.rate_per_hour is not None
    ]
    baseline = next((b for b in enough if b.signs > 0), None)
    if baseline is None:
        return
    evidence.baseline = baseline
    base_rate = baseline.rate_per_hour
    if base_rate is None:  # never: `enough` holds only buckets with a rate
        return
    later = [b for b in enough if b.start_minutes > baseline.start_minutes]
    evidence.doubled_in = next(
        (
            b for b in later
            if b.rate_per_hour is not None and b.rate_per_hour >= DOUBLING * base_rate
        ),
        None,
    )


def target_evidence(*, now: datetime | None = None, days: int = WINDOW_DAYS) -> list[TierEvidence]:
    """Per tier: the buckets' counts and the suggested target (see the module's docstring)."""
    now = now or timezone.now()
    rounds = _rounds(since=now - timedelta(days=days), now=now)
    result = []
    for tier in Tier.values:
        mine = [r for r in rounds if r.tier == tier]
        evidence = TierEvidence(tier=tier, rounds=len(mine), buckets=_empty_buckets())
        for round_ in mine:
            _fill(evidence.buckets, round_)
        _suggest(evidence)
        result.append(evidence)
    return result
