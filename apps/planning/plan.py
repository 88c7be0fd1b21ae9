"""The cost of the promise: how many reviewer-hours a day each tier's target needs at a given
volume, and what one more point of it costs, found by simulating the queue.

The staffing searched is a level: `c` reviewers on shift in every hour the roster staffs (its
shape: the hours of the week anyone reviews), so a day's reviewer-hours are c × the staffed
hours of a week / 7. For each c the same arrivals (the forecast, one fixed seed) run through
the simulator (apps/planning/simulation.py) under the admin's queue order; a tier holds its
target at the smallest c whose share of batches decided within the target reaches the target
share. Time toward a target counts in covered hours only, as the commitment reads ("within
4 hours, 08:00-18:00 UTC on weekdays"); with a roster covering every hour that is wall time.

One more point is the tier's next promise both ways: one more percent of batches (95 -> 96 %)
and a shorter time (an hour less, or half the time for targets of two hours or less). A
shorter time moves the tier's deadlines, so the queue order changes and it runs again; one more
percent is read from the same runs.
"""

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from apps.planning.simulation import (
    HOURS_PER_WEEK,
    CoveredClock,
    TierDemand,
    arrivals,
    erlang_c,
    figures,
    simulate,
    weekly,
)

MAX_REVIEWERS = 80  # per hour on shift; past that the target is reported as not reachable


@dataclass(frozen=True)
class Promise:
    tier: str
    pct: int
    hours: float

    @property
    def text(self) -> str:
        return f"{self.pct} % within {_hours_text(self.hours)}"


@dataclass(frozen=True)
class Need:
    """What holding one promise takes: reviewers on shift in each covered hour, and per day."""

    promise: Promise
    reviewers: int | None  # None: not reachable with MAX_REVIEWERS
    reviewer_hours_per_day: float | None
    cost_per_day: Decimal | None
    within_pct: float | None  # the simulated share decided within the target, at `reviewers`


@dataclass(frozen=True)
class TierPlan:
    tier: str
    batches_per_day: float
    mean_handling_minutes: float
    current: Need
    # (the tighter promise, extra reviewer-hours a day, extra cost a day)
    next_points: tuple[tuple[Need, float | None, Decimal | None], ...]
    erlang_c_reviewers: int | None  # the closed form's answer at the tier's average load


@dataclass(frozen=True)
class CapacityPlan:
    tiers: tuple[TierPlan, ...]
    staffed_hours_per_week: int
    hourly_cost: Decimal
    batches_per_day: float
    team: Need | None  # the level at which every tier holds its target
    simulated_weeks: int
    seed: int

    def as_dict(self) -> dict:
        def need(n: Need | None) -> dict | None:
            return None if n is None else fields(n)

        def fields(n: Need) -> dict:
            return {
                "target": n.promise.text, "target_pct": n.promise.pct,
                "target_hours": round(n.promise.hours, 3),
                "reviewers_on_shift": n.reviewers,
                "reviewer_hours_per_day": n.reviewer_hours_per_day,
                "cost_per_day": _money(n.cost_per_day),
                "simulated_within_pct": n.within_pct,
            }

        return {
            "batches_per_day": round(self.batches_per_day, 1),
            "staffed_hours_per_week": self.staffed_hours_per_week,
            "hourly_cost": _money(self.hourly_cost),
            "simulated_weeks": self.simulated_weeks,
            "seed": self.seed,
            "all_tiers": need(self.team),
            "tiers": [
                {
                    "tier": t.tier,
                    "batches_per_day": round(t.batches_per_day, 1),
                    "mean_handling_minutes": round(t.mean_handling_minutes, 1),
                    "erlang_c_reviewers": t.erlang_c_reviewers,
                    **fields(t.current),
                    "one_more_point": [
                        {
                            **fields(n), "extra_reviewer_hours_per_day": extra,
                            "extra_cost_per_day": _money(cost),
                        }
                        for n, extra, cost in t.next_points
                    ],
                }
                for t in self.tiers
            ],
        }


def _money(value: Decimal | None) -> str | None:
    return None if value is None else str(value.quantize(Decimal("0.01")))


def _hours_text(hours: float) -> str:
    minutes = round(hours * 60)
    if minutes % 60 == 0:
        return f"{minutes // 60} h"
    return f"{minutes} min" if minutes < 60 else f"{minutes / 60:.1f} h"


def tighter_hours(hours: float) -> float:
    """One point shorter: 4 h -> 3 h; 2 h -> 1 h; 30 min -> 15 min."""
    return max(hours - 1, hours / 2)


class Planner:
    """Runs the simulations a plan needs, each staffing level once per set of targets."""

    def __init__(
        self, *, demands: Sequence[TierDemand], staffed: Sequence[bool],
        covered: Mapping[str, Sequence[bool]], order_as: Mapping[str, str] | None = None,
        seed: int = 2026, weeks: int = 4, warmup_weeks: int = 1,
    ):
        self.order_as = dict(order_as or {})
        self.staffed = tuple(bool(c) for c in staffed)
        self.hours = (weeks + warmup_weeks) * HOURS_PER_WEEK
        self.since = warmup_weeks * HOURS_PER_WEEK
        self.stream = arrivals(demands, hours=self.hours, seed=seed)
        self.clocks = {
            tier: CoveredClock(hours_covered, hours=self.hours * 2)
            for tier, hours_covered in covered.items() if not all(hours_covered)
        }
        self.runs: dict[tuple, dict[str, float | None]] = {}

    def within(self, reviewers: int, targets: tuple[tuple[str, float], ...]) -> dict:
        """The share of each tier's batches decided within its target, at this level."""
        key = (reviewers, targets)
        if key not in self.runs:
            deadlines = dict(targets)
            # The queue sorts a class by the deadline of the tier it belongs to (an extended
            # batch by its tier's), as the admin's queue does.
            order = {cls: deadlines.get(self.order_as.get(cls, cls)) for cls in deadlines}
            shifts = weekly([reviewers if staffed else 0 for staffed in self.staffed])
            # Work left after the last arrival gets as long again to finish; what is still
            # open then is late.
            outcomes = simulate(
                self.stream, capacity=shifts, deadline_hours=order, until=self.hours * 2
            )
            result = figures(
                outcomes, deadline_hours=deadlines, since=self.since, clocks=self.clocks
            )
            self.runs[key] = {tier: f.within_share for tier, f in result.items()}
        return self.runs[key]

    def reviewers_needed(
        self, tier: str, pct: int, targets: tuple[tuple[str, float], ...], *, guess: int,
        fails_at: int = 0,
    ) -> int | None:
        """The smallest level at which `tier` decides `pct` % within its target (None: not even
        MAX_REVIEWERS). More reviewers do not make the queue slower and every run sees the same
        arrivals, so the levels that hold are those from some c up: gallop from `guess` (each
        run costs, and the answer is usually near it), then bisect. `fails_at`: a level already
        known to fall short. The tests check the level below the answer falls short."""

        def holds(reviewers: int) -> bool:
            share = self.within(reviewers, targets).get(tier)
            return share is not None and share * 100 >= pct - 1e-9

        guess = min(max(guess, fails_at + 1), MAX_REVIEWERS)
        step = 1
        if holds(guess):
            low, high = fails_at, guess
            while high - step > low and holds(high - step):
                high, step = high - step, step * 2
            low = max(low, high - step)
        elif guess >= MAX_REVIEWERS:
            return None
        else:
            low, high = guess, guess + 1
            while high < MAX_REVIEWERS and not holds(high):
                low, step = high, step * 2
                high = min(guess + step, MAX_REVIEWERS)
            if not holds(high):
                return None
        while high - low > 1:  # low falls short, high holds
            middle = (low + high) // 2
            low, high = (low, middle) if holds(middle) else (middle, high)
        return high

    def work_floor(self, demands: Sequence[TierDemand]) -> int:
        """Reviewers on shift below which the week's handling cannot be done in its staffed
        hours at all: where the search starts."""
        staffed = sum(self.staffed)
        work = sum(d.batches_per_week * _mean_handling(d) for d in demands)
        return max(math.ceil(work / staffed), 1) if staffed and not math.isnan(work) else 1


def make_plan(
    *, demands: Sequence[TierDemand], promises: Sequence[Promise], staffed: Sequence[bool],
    covered: Mapping[str, Sequence[bool]], hourly_cost: Decimal,
    order_as: Mapping[str, str] | None = None, seed: int = 2026, weeks: int = 4,
) -> CapacityPlan:
    """`staffed`: the hours of the week the roster staffs (168); `covered`: per tier, the hours
    its commitment's clock runs in (a tier left out counts wall time); `order_as`: the tier
    whose deadline orders a class in the queue (itself when left out)."""
    planner = Planner(
        demands=demands, staffed=staffed, covered=covered, order_as=order_as, seed=seed,
        weeks=weeks,
    )
    staffed_hours = sum(planner.staffed)
    base = tuple(sorted((p.tier, p.hours) for p in promises))

    guess = planner.work_floor(demands)

    def need(promise: Promise, targets: tuple[tuple[str, float], ...], fails_at: int = 0) -> Need:
        reviewers = planner.reviewers_needed(
            promise.tier, promise.pct, targets, guess=guess, fails_at=fails_at
        )
        if reviewers is None:
            return Need(promise, None, None, None, None)
        hours = round(reviewers * staffed_hours / 7, 1)
        share = planner.within(reviewers, targets)[promise.tier]
        cost = hourly_cost * Decimal(str(hours))
        return Need(promise, reviewers, hours, cost, round(100 * share, 1))

    by_tier = {d.tier: d for d in demands}
    plans = []
    for promise in promises:
        demand = by_tier.get(promise.tier)
        if demand is None or demand.batches_per_week == 0:
            continue
        current = need(promise, base)
        tighter = [Promise(promise.tier, promise.pct, tighter_hours(promise.hours))]
        if promise.pct < 100:
            tighter.insert(0, Promise(promise.tier, promise.pct + 1, promise.hours))
        next_points: list[tuple[Need, float | None, Decimal | None]] = []
        for nxt in tighter:
            targets = tuple(sorted((*(t for t in base if t[0] != nxt.tier), (nxt.tier, nxt.hours))))
            if current.reviewers is None:  # a tighter promise is out of reach too
                next_points.append((Need(nxt, None, None, None, None), None, None))
                continue
            # A tighter promise never needs fewer reviewers than the current one.
            n = need(nxt, targets, fails_at=current.reviewers - 1)
            extra: float | None = None
            extra_cost: Decimal | None = None
            if n.reviewer_hours_per_day is not None and current.reviewer_hours_per_day is not None:
                extra = round(n.reviewer_hours_per_day - current.reviewer_hours_per_day, 1)
            if n.cost_per_day is not None and current.cost_per_day is not None:
                extra_cost = n.cost_per_day - current.cost_per_day
            next_points.append((n, extra, extra_cost))
        plans.append(TierPlan(
            tier=promise.tier, batches_per_day=demand.batches_per_week / 7,
            mean_handling_minutes=60 * _mean_handling(demand), current=current,
            next_points=tuple(next_points),
            erlang_c_reviewers=erlang_c_reviewers(demand, promise, staffed_hours=staffed_hours),
        ))
    return CapacityPlan(
        tiers=tuple(plans), staffed_hours_per_week=staffed_hours, hourly_cost=hourly_cost,
        batches_per_day=sum(d.batches_per_week for d in demands) / 7,
        team=_team_need(plans), simulated_weeks=weeks, seed=seed,
    )


def _team_need(plans: list[TierPlan]) -> Need | None:
    """Every tier holds at the highest of their levels (more reviewers never slow a tier)."""
    if not plans or any(p.current.reviewers is None for p in plans):
        return None
    # `or 0` only satisfies the checker: every tier's reviewers is set (checked above).
    return max((p.current for p in plans), key=lambda need: need.reviewers or 0)


def _mean_handling(demand: TierDemand) -> float:
    mean = getattr(demand.handling_hours, "mean", None)
    return float(mean) if mean is not None else math.nan


def erlang_c_reviewers(demand: TierDemand, promise: Promise, *, staffed_hours: int) -> int | None:
    """The closed form's level for one tier alone, as a cross-check: the week's arrivals spread
    evenly over the staffed hours, Poisson arrivals, exponential handling with the recorded mean,
    first come first served; the smallest c whose P(wait <= target - mean handling) reaches the
    target share (Erlang C: P(W > t) = P(wait) * exp(-(c - a) t / mean handling))."""
    mean = _mean_handling(demand)
    if not staffed_hours or math.isnan(mean) or mean <= 0:
        return None
    rate = demand.batches_per_week / staffed_hours
    allowed = promise.hours - mean
    if allowed < 0:
        return None
    for servers in range(1, MAX_REVIEWERS + 1):
        p_wait, _ = erlang_c(arrival_rate=rate, mean_service=mean, servers=servers)
        if p_wait >= 1:
            continue
        late = p_wait * math.exp(-(servers - rate * mean) * allowed / mean)
        if (1 - late) * 100 >= promise.pct:
            return servers
    return None
