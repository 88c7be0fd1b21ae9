"""What the capacity plan and the capacity view read from history: arrivals by hour of the
week and handling times per class of batch, the hours the roster staffs, and what each
commitment covers. Reads only (selectors); the simulation itself is apps/planning/simulation.py.

A class is a tier, or a tier's extended commitment (its batches over N messages), which has a
target of its own; in the queue an extended batch still sorts by its tier's deadline, as the
admin's queue does.
"""

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from apps.core.models import Tier
from apps.planning.models import Commitment, ReviewerCost, Shift
from apps.planning.plan import CapacityPlan, Promise, make_plan
from apps.planning.simulation import HOURS_PER_WEEK, Empirical, TierDemand
from apps.review.models import ReviewRound, SlaTarget

# The forecast is the last four weeks, hour of the week by hour of the week.
FORECAST_WINDOW = timedelta(days=28)
EXTENDED = ":extended"


class PlanError(Exception):
    """History too thin to plan from; the message says what is missing."""


@dataclass(frozen=True)
class PlanClass:
    key: str  # "standard" or "standard:extended"
    tier: str
    label: str
    promise: Promise
    covered: tuple[bool, ...]  # 168 hours of the week the commitment's clock runs in
    over_messages: int | None = None  # an extended class: batches with more messages


@dataclass(frozen=True)
class PlanInputs:
    classes: tuple[PlanClass, ...]
    demands: tuple[TierDemand, ...]
    staffed: tuple[bool, ...]
    forecast_batches_per_day: float
    since: datetime
    until: datetime

    @property
    def order_as(self) -> dict[str, str]:
        return {c.key: c.tier for c in self.classes}


def hour_of_week(at: datetime) -> int:
    at = at.astimezone(UTC)
    return at.weekday() * 24 + at.hour


def covered_hours(commitment: Commitment | None) -> tuple[bool, ...]:
    if commitment is None:
        return (True,) * HOURS_PER_WEEK
    return tuple(
        commitment.covered_from_hour <= how % 24 < commitment.covered_to_hour
        and not (commitment.weekdays_only and how // 24 >= 5)
        for how in range(HOURS_PER_WEEK)
    )


def staffed_hours(fallback: tuple[bool, ...]) -> tuple[bool, ...]:
    """The hours of the week someone on the roster reviews (its regular shifts); with no
    roster yet, the commitments' covered hours."""
    staffed = [False] * HOURS_PER_WEEK
    for weekday, first, last in Shift.objects.values_list("weekday", "start_hour", "end_hour"):
        for hour in range(first, last):
            staffed[weekday * 24 + hour] = True
    return tuple(staffed) if any(staffed) else fallback


def plan_classes() -> list[PlanClass]:
    """Each tier with a target, and its extended commitment when it has one. Two queries."""
    commitments = {c.tier: c for c in Commitment.objects.all()}
    labels = dict(Tier.choices)
    classes = []
    for target in SlaTarget.objects.order_by("target_minutes"):
        commitment = commitments.get(target.tier)
        covered = covered_hours(commitment)
        label = labels.get(target.tier, target.tier)
        classes.append(PlanClass(
            target.tier, target.tier, label,
            Promise(target.tier, target.target_pct, target.target_minutes / 60), covered,
        ))
        if (
            commitment is not None and commitment.extended_over_messages is not None
            # always set with an extended size (constraint commitment_extended_has_target)
            and commitment.extended_target_minutes is not None
        ):
            key = target.tier + EXTENDED
            classes.append(PlanClass(
                key, target.tier,
                f"{label}, extended (over {commitment.extended_over_messages} messages)",
                Promise(
                    key, commitment.extended_target_pct,
                    commitment.extended_target_minutes / 60,
                ),
                covered, commitment.extended_over_messages,
            ))
    return classes


def _class_of(classes: list[PlanClass], tier: str, messages: int) -> str | None:
    extended = next(
        (c for c in classes if c.tier == tier and c.over_messages is not None
         and messages > c.over_messages), None,
    )
    if extended is not None:
        return extended.key
    return tier if any(c.key == tier for c in classes) else None


def hour_of_week_occurrences(since: datetime, until: datetime) -> list[int]:
    """How many times each hour of the week starts within [since, until)."""
    counts = [0] * HOURS_PER_WEEK
    hour = since.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    if hour < since:
        hour += timedelta(hours=1)
    while hour < until:
        counts[hour_of_week(hour)] += 1
        hour += timedelta(hours=1)
    return counts


def plan_inputs(
    *, now: datetime, volume_per_day: float | None = None, window: timedelta = FORECAST_WINDOW
) -> PlanInputs:
    """The forecast (or the given volume, in batches a day, spread as history spreads it) and
    the recorded handling times, per class. One query for the rounds, three for the rest."""
    since = now - window
    classes = plan_classes()
    if not classes:
        raise PlanError("No tier has an SLA target: there is no promise to plan for.")
    arrived: dict[str, Counter] = defaultdict(Counter)
    handled: dict[str, list[float]] = defaultdict(list)
    rows = ReviewRound.objects.filter(entered_at__gte=since, entered_at__lt=now).values_list(
        "batch__client__tier", "entered_at", "messages", "handling_seconds", "decided_by_id",
    )
    for tier, entered_at, messages, handling_s, decided_by in rows.iterator(chunk_size=5000):
        key = _class_of(classes, tier, messages)
        if key is None:
            continue
        arrived[key][hour_of_week(entered_at)] += 1
        if decided_by is not None and handling_s > 0:
            handled[key].append(handling_s / 3600)
    pooled = [hours for values in handled.values() for hours in values]
    if not pooled:
        raise PlanError(
            f"No round a reviewer decided entered review in the {window.days} days before "
            f"{now:%Y-%m-%d %H:%M} UTC: there are no handling times to simulate with."
        )
    occurrences = hour_of_week_occurrences(since, now)
    days = window / timedelta(days=1)
    forecast = sum(sum(counts.values()) for counts in arrived.values()) / days
    scale = volume_per_day / forecast if volume_per_day is not None and forecast else 1.0
    if volume_per_day is not None and not forecast:
        raise PlanError(
            "No batch entered review in the window: there is no profile to spread "
            "--volume-per-day over."
        )
    demands = tuple(
        TierDemand(
            c.key,
            tuple(
                scale * arrived[c.key][how] / max(occurrences[how], 1)
                for how in range(HOURS_PER_WEEK)
            ),
            # A class with no handled batch of its own yet borrows everyone's times.
            Empirical(tuple(handled[c.key] or pooled)),
        )
        for c in classes
    )
    union = tuple(any(c.covered[how] for c in classes) for how in range(HOURS_PER_WEEK))
    return PlanInputs(
        classes=tuple(classes), demands=demands, staffed=staffed_hours(union),
        forecast_batches_per_day=forecast, since=since, until=now,
    )


def hourly_cost() -> ReviewerCost:
    """The operators' price of a reviewer-hour (the model's default until they set one)."""
    return ReviewerCost.objects.order_by("pk").first() or ReviewerCost()


def capacity_plan(
    *, now: datetime, volume_per_day: float | None = None, seed: int = 2026, weeks: int = 4
) -> tuple[CapacityPlan, PlanInputs, ReviewerCost]:
    """The plan for the forecast (or the given volume): what each class's target takes."""
    inputs = plan_inputs(now=now, volume_per_day=volume_per_day)
    cost = hourly_cost()
    plan = make_plan(
        demands=inputs.demands, promises=[c.promise for c in inputs.classes],
        staffed=inputs.staffed, covered={c.key: c.covered for c in inputs.classes},
        order_as=inputs.order_as, hourly_cost=cost.hourly_cost, seed=seed, weeks=weeks,
    )
    return plan, inputs, cost
