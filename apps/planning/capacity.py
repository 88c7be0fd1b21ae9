"""Reads for the operators' capacity view: what waits now per tier, what the roster can review
in the hours ahead, the load that makes against each tier's target (and the 80 % line past
which quotes lengthen), arrivals by hour of the week, and each reviewer's measured rate.

A tier's load is the messages the reviewers must get through before its newest batch is done
(its own and those of every tier whose batches go first: a shorter target sorts first) over
the messages the roster can review within its target from now. Past LOAD_THRESHOLD the queue
runs slower than the target assumes, and the quotes of that tier's batches move later.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib.auth import get_user_model
from django.db.models import Count, F, Q
from django.db.models.functions import ExtractHour, ExtractIsoWeekDay

from apps.core.models import Batch, BatchStatus, Tier
from apps.planning.demand import hour_of_week_occurrences
from apps.planning.rates import HandlingRates, measured_rates
from apps.planning.selectors import HourCapacity, capacity_by_hour
from apps.planning.simulation import HOURS_PER_WEEK
from apps.review.models import ReviewRound, SlaTarget

LOAD_THRESHOLD = 0.8
HOURS_AHEAD = 12
ARRIVALS_WINDOW = timedelta(days=28)
LENGTHENED_SHOWN = 50


@dataclass(frozen=True)
class TierLoad:
    tier: str
    label: str
    target: timedelta | None
    batches: int
    messages: int
    messages_first: int  # this tier's and those ahead of it in the queue
    capacity: float  # messages the roster can review within the target from now
    load: float | None  # None: nobody on the roster within the target

    @property
    def target_text(self) -> str:
        if self.target is None:
            return "no target"
        minutes = round(self.target.total_seconds() / 60)
        return f"{minutes} min" if minutes < 120 or minutes % 60 else f"{minutes // 60} h"

    @property
    def over_threshold(self) -> bool:
        return self.load is None or self.load > LOAD_THRESHOLD


@dataclass(frozen=True)
class ReviewerRate:
    username: str
    rounds: int
    messages: int
    handling_hours: float
    measured_s_per_message: float | None
    used_s_per_message: float  # shrunk towards the pooled figure, as quotes use it


def waiting_by_tier() -> dict[str, tuple[int, int]]:
    """(batches, included messages) in review per tier: one query."""
    rows = (
        Batch.objects.filter(status=BatchStatus.IN_REVIEW).values("client__tier")
        .annotate(
            batches=Count("pk", distinct=True),
            # not `messages`: that name is the Batch.messages relation
            message_count=Count("messages", filter=Q(messages__excluded=False)),
        ).values_list("client__tier", "batches", "message_count")
    )
    return {tier: (batches, messages) for tier, batches, messages in rows}


def capacity_within(hours: list[HourCapacity], *, now: datetime, span: timedelta) -> float:
    """Messages the roster can review from `now` for `span` (the current hour pro rata)."""
    end, total = now + span, 0.0
    for hour in hours:
        start, stop = max(hour.start, now), min(hour.start + timedelta(hours=1), end)
        if stop > start:
            total += hour.messages_per_hour * (stop - start).total_seconds() / 3600
    return total


def tier_loads(*, now: datetime, hours: list[HourCapacity]) -> list[TierLoad]:
    targets = {t.tier: t.target for t in SlaTarget.objects.all()}
    waiting = waiting_by_tier()
    labels = dict(Tier.choices)
    # The queue sorts by deadline, so a tier with a shorter target goes first; no target, last.
    order = sorted(
        labels, key=lambda tier: (targets.get(tier) is None, targets.get(tier) or timedelta())
    )
    loads, ahead = [], 0
    for tier in order:
        batches, messages = waiting.get(tier, (0, 0))
        ahead += messages
        target = targets.get(tier)
        span = target or timedelta(hours=HOURS_AHEAD)
        capacity = capacity_within(hours, now=now, span=span)
        load = ahead / capacity if capacity > 0 else (0.0 if ahead == 0 else None)
        loads.append(TierLoad(tier, labels[tier], target, batches, messages, ahead, capacity, load))
    return loads


def lengthened_quotes(tiers: list[str]) -> list[Batch]:
    """Batches of the overloaded tiers whose latest quote is later than the first they were
    given, the most moved first: one query."""
    if not tiers:
        return []
    return list(
        Batch.objects.filter(
            status=BatchStatus.IN_REVIEW, client__tier__in=tiers,
            quote__expected_at__gt=F("quote__first_expected_at"),
        )
        .select_related("client", "quote")
        .annotate(moved=F("quote__expected_at") - F("quote__first_expected_at"))
        .order_by("-moved", "pk")[:LENGTHENED_SHOWN]
    )


def arrivals_by_hour_of_week(*, now: datetime, window: timedelta = ARRIVALS_WINDOW) -> list[float]:
    """Mean batches entering review in each hour of the week (Monday 00:00 first) over the
    window: one aggregate query."""
    since = now - window
    counts = (
        ReviewRound.objects.filter(entered_at__gte=since, entered_at__lt=now)
        .annotate(weekday=ExtractIsoWeekDay("entered_at"), hour=ExtractHour("entered_at"))
        .values("weekday", "hour").annotate(n=Count("pk")).values_list("weekday", "hour", "n")
    )
    occurrences = hour_of_week_occurrences(since, now)
    means = [0.0] * HOURS_PER_WEEK
    for weekday, hour, n in counts:
        how = (weekday - 1) * 24 + hour
        means[how] = n / max(occurrences[how], 1)
    return means


def reviewer_rates(rates: HandlingRates) -> list[ReviewerRate]:
    """Each reviewer's measured handling rate over the rates' window: one query (names)."""
    names = dict(get_user_model().objects.filter(pk__in=rates.totals).values_list("pk", "username"))
    result = [
        ReviewerRate(
            username=names.get(reviewer_id, f"#{reviewer_id}"), rounds=totals.rounds,
            messages=totals.messages, handling_hours=totals.handling_s / 3600,
            measured_s_per_message=totals.handling_s / totals.messages if totals.messages else None,
            used_s_per_message=rates.seconds_per_message(reviewer_id),
        )
        for reviewer_id, totals in rates.totals.items()
    ]
    return sorted(result, key=lambda r: r.username)


def capacity_view(*, now: datetime) -> dict:
    """Everything the capacity page shows, in a bounded number of queries."""
    rates = measured_rates(until=now)
    hours = capacity_by_hour(start=now, hours=max(HOURS_AHEAD, 24 * 2), rates=rates)
    loads = tier_loads(now=now, hours=hours)
    return {
        "loads": loads,
        "hours": hours[:HOURS_AHEAD],
        "lengthened": lengthened_quotes([t.tier for t in loads if t.over_threshold]),
        "arrivals": arrivals_by_hour_of_week(now=now),
        "rates": reviewer_rates(rates),
        "threshold": LOAD_THRESHOLD,
    }
