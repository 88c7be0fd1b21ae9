"""A discrete-event simulation of the holding queue, in plain Python (no Django, no I/O).

Batches arrive, wait in the reviewers' order and are handled by whichever reviewer on shift is
free. It answers "with this many reviewers on shift, how long would batches wait?" for the
capacity plan (apps/planning/plan.py); the tests hold it to the M/M/c closed form (Erlang C).

The model, in hours from the start of the run (which falls on `start_hour_of_week`, 0 being
Monday 00:00 UTC):
- arrivals per tier are a Poisson process whose rate is constant within each hour of the week
  (the history's profile), each batch carrying a handling time drawn from a sampler (the
  recorded handling times, or an exponential one for the closed-form check);
- the queue is worked in the admin's order (apps/review/selectors.queue_batches): the SLA
  deadline (entered + the tier's target; a tier without one sorts last), then the time the
  batch entered review, then arrival order;
- `capacity(hour)` reviewers are on shift in hour `hour` of the run. A reviewer whose shift
  ends finishes the batch in hand (a batch is never handed over half done); nobody starts a
  batch while as many are busy as are on shift.

A heap-based loop rather than SimPy: SimPy's resources have a fixed capacity, and the capacity
plan runs dozens of simulations of thousands of batches within its time budget.
"""

import heapq
import math
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

HOURS_PER_WEEK = 168

Sampler = Callable[[random.Random], float]


@dataclass(frozen=True)
class Empirical:
    """Draws one of the recorded values, each as likely as it was common in the history."""

    values: tuple[float, ...]

    def __post_init__(self) -> None:
        if not self.values:
            raise ValueError("An empirical distribution needs at least one recorded value.")

    def __call__(self, rng: random.Random) -> float:
        return self.values[int(rng.random() * len(self.values))]

    @property
    def mean(self) -> float:
        return sum(self.values) / len(self.values)


@dataclass(frozen=True)
class Exponential:
    """Exponentially distributed with the given mean (the M in M/M/c)."""

    mean: float

    def __call__(self, rng: random.Random) -> float:
        return rng.expovariate(1 / self.mean)


@dataclass(frozen=True)
class TierDemand:
    """One tier's arrivals: expected batches in each hour of the week (168 rates) and how long
    a reviewer takes over one of its batches (hours)."""

    tier: str
    arrivals_by_hour_of_week: tuple[float, ...]
    handling_hours: Sampler

    def __post_init__(self) -> None:
        if len(self.arrivals_by_hour_of_week) != HOURS_PER_WEEK:
            raise ValueError(
                f"{self.tier}: arrivals are given for each of the {HOURS_PER_WEEK} hours of a week."
            )

    @property
    def batches_per_week(self) -> float:
        return sum(self.arrivals_by_hour_of_week)


@dataclass(frozen=True)
class Arrival:
    at: float
    tier: str
    handling: float


@dataclass(frozen=True)
class Outcome:
    tier: str
    arrived: float
    started: float | None  # None: still waiting when the run stopped
    finished: float | None


def arrivals(
    demands: Sequence[TierDemand], *, hours: int, seed: int, start_hour_of_week: int = 0
) -> list[Arrival]:
    """Every tier's arrivals over `hours`, in time order. One generator per tier, seeded from
    `seed`, so that changing one tier's demand leaves the others' arrivals as they were."""
    stream: list[Arrival] = []
    for index, demand in enumerate(demands):
        rng = random.Random(f"{seed}:{index}:{demand.tier}")
        for hour in range(hours):
            rate = demand.arrivals_by_hour_of_week[(start_hour_of_week + hour) % HOURS_PER_WEEK]
            if rate <= 0:
                continue
            # Within an hour the rate is constant, so gaps are exponential and the process
            # restarts exactly at the hour's end (memoryless): no arrival is lost or doubled.
            at = hour + rng.expovariate(rate)
            while at < hour + 1:
                stream.append(Arrival(at, demand.tier, demand.handling_hours(rng)))
                at += rng.expovariate(rate)
    stream.sort(key=lambda a: a.at)
    return stream


def simulate(
    stream: Sequence[Arrival], *, capacity: Callable[[int], int],
    deadline_hours: Mapping[str, float | None], until: float,
) -> list[Outcome]:
    """Work the queue until everything is handled or the clock reaches `until` (hours)."""
    waiting: list[tuple[float, float, int]] = []  # (deadline, arrived, index): the admin's order
    busy: list[tuple[float, int]] = []  # (finishes at, index)
    started: list[float | None] = [None] * len(stream)
    finished: list[float | None] = [None] * len(stream)
    next_arrival, hour, on_shift = 0, 0, capacity(0)
    while next_arrival < len(stream) or waiting or busy:
        arrival_at = stream[next_arrival].at if next_arrival < len(stream) else math.inf
        finish_at = busy[0][0] if busy else math.inf
        now = min(arrival_at, finish_at, hour + 1)
        if now >= until:
            break
        if finish_at == now:
            _, index = heapq.heappop(busy)
            finished[index] = now
        elif hour + 1 == now:
            hour += 1
            on_shift = capacity(hour)
        else:
            batch = stream[next_arrival]
            target = deadline_hours.get(batch.tier)
            deadline = batch.at + target if target is not None else math.inf
            heapq.heappush(waiting, (deadline, batch.at, next_arrival))
            next_arrival += 1
        while waiting and len(busy) < on_shift:
            _, _, index = heapq.heappop(waiting)
            started[index] = now
            heapq.heappush(busy, (now + stream[index].handling, index))
    return [
        Outcome(batch.tier, batch.at, started[i], finished[i]) for i, batch in enumerate(stream)
    ]


def constant(servers: int) -> Callable[[int], int]:
    return lambda hour: servers


def weekly(
    on_shift_by_hour_of_week: Sequence[int], *, start_hour_of_week: int = 0
) -> Callable[[int], int]:
    """Reviewers on shift by hour of the week, repeated every week."""
    shifts = tuple(on_shift_by_hour_of_week)
    return lambda hour: shifts[(start_hour_of_week + hour) % HOURS_PER_WEEK]


class CoveredClock:
    """Time that counts toward a target, when a commitment runs only in covered hours ("within
    4 hours, 08:00-18:00 UTC on weekdays"): hours outside the cover do not count."""

    def __init__(
        self, covered_by_hour_of_week: Sequence[bool], *, hours: int, start_hour_of_week: int = 0
    ):
        self.covered = [
            bool(covered_by_hour_of_week[(start_hour_of_week + h) % HOURS_PER_WEEK])
            for h in range(hours + 1)
        ]
        self.before = [0] * (hours + 2)
        for h, is_covered in enumerate(self.covered):
            self.before[h + 1] = self.before[h] + is_covered

    def reading(self, at: float) -> float:
        hour = min(int(at), len(self.covered) - 1)
        return self.before[hour] + (at - hour if self.covered[hour] else 0.0)

    def elapsed(self, start: float, end: float) -> float:
        return self.reading(end) - self.reading(start)


@dataclass(frozen=True)
class TierFigures:
    batches: int
    waited_share: float  # share that waited at all before a reviewer took them
    mean_wait_hours: float
    p95_total_hours: float
    within_share: float | None  # decided within the target (None: the tier has no target)


def figures(
    outcomes: Sequence[Outcome], *, deadline_hours: Mapping[str, float | None], since: float,
    clocks: Mapping[str, CoveredClock] | None = None,
) -> dict[str, TierFigures]:
    """Per tier, over the batches that arrived at or after `since` (a warm-up left out). A batch
    still unfinished when the run stopped counts as late, never as on time. A tier with a clock
    in `clocks` counts only its covered hours; the others count wall time."""
    by_tier: dict[str, list[Outcome]] = {}
    for outcome in outcomes:
        if outcome.arrived >= since:
            by_tier.setdefault(outcome.tier, []).append(outcome)
    result = {}
    for tier, group in by_tier.items():
        clock = (clocks or {}).get(tier)
        elapsed = clock.elapsed if clock else _wall_time
        waits = [
            elapsed(o.arrived, o.started) if o.started is not None else math.inf for o in group
        ]
        waited = sum(1 for o in group if o.started is None or o.started > o.arrived)
        totals = sorted(
            elapsed(o.arrived, o.finished) if o.finished is not None else math.inf for o in group
        )
        target = deadline_hours.get(tier)
        result[tier] = TierFigures(
            batches=len(group),
            waited_share=waited / len(group),
            mean_wait_hours=sum(waits) / len(waits),
            p95_total_hours=totals[min(len(totals) - 1, math.ceil(0.95 * len(totals)) - 1)],
            within_share=(
                None if target is None else sum(1 for t in totals if t <= target) / len(totals)
            ),
        )
    return result


def _wall_time(start: float, end: float) -> float:
    return end - start


def erlang_c(*, arrival_rate: float, mean_service: float, servers: int) -> tuple[float, float]:
    """M/M/c in steady state: (probability an arrival waits, mean wait), by the Erlang C formula.
    The wait is in the unit of `mean_service`; a load at or past the servers waits forever."""
    offered = arrival_rate * mean_service  # in Erlangs
    if offered >= servers:
        return 1.0, math.inf
    # sum_{k<c} a^k/k! and a^c/c!, built term by term (no factorial overflow at large c).
    term, below = 1.0, 0.0
    for k in range(servers):
        below += term
        term *= offered / (k + 1)
    top = term * servers / (servers - offered)
    p_wait = top / (below + top)
    return p_wait, p_wait * mean_service / (servers - offered)
