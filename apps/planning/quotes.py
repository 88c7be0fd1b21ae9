"""The review time a client can expect, simulated from the queue as the reviewers will work it.

A quote replays, forwards in time, what the reviewers will do next (docs/planning.md):
- the queue is every batch in review in the reviewers' order (the admin's: SLA deadline, then
  the time it entered review); batches someone holds are finished by their holder first;
- the reviewers are the roster's, each from the hour they are expected on shift, taking the
  most urgent batch waiting whenever they are free (of several free at once, the one free
  longest first) and finishing the batch in hand at the end of a shift;
- each reviewer handles a batch in its messages × their measured seconds per message
  (apps/planning/rates.py: shrunk towards a prior while history is thin), after the measured
  pick-up time (median_pickup);
- batches that will arrive meanwhile and go ahead of this one (an earlier deadline: a
  priority batch overtakes a standard one) are added at the rate history shows for that hour
  of the week;
- the simulated wait, less the hours with nobody on shift (known in advance), is then
  lengthened by the calibration of the tier at that scale of wait: the ratio of real to
  simulated working time that QUOTE_QUANTILE of recent batches stayed within, so the quote is a
  time the batch is decided by, not a coin toss.
With nobody on the roster within QUOTE_HORIZON the quote is the tier's target, and says so.
"""

import heapq
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from apps.planning.rates import HandlingRates
from apps.planning.roster import Roster, hour_start

QUOTE_HORIZON = timedelta(days=14)
LONG_AGO = datetime(2000, 1, 1, tzinfo=UTC)
# The share of batches the quote is meant to hold for.
QUOTE_QUANTILE = 0.91
# Until a tier has this many decided batches to calibrate from, its calibration is the prior.
CALIBRATION_MIN_SAMPLES = 30
CALIBRATION_PRIOR = 1.5
CALIBRATION_SAMPLES = 400
# A batch someone holds past its expected handling time still takes at least this share more.
HELD_REMAINDER_FLOOR = 0.2


@dataclass(frozen=True)
class Waiting:
    """One batch in review as a quote sees it."""

    batch_id: int
    tier: str
    deadline: datetime | None
    entered_at: datetime
    messages: int
    held_by: int | None = None
    held_since: datetime | None = None

    def order(self) -> tuple:
        # The admin's queue order: deadline (none last), then entered review, then id.
        return (self.deadline is None, self.deadline or self.entered_at, self.entered_at,
                self.batch_id)


@dataclass
class ArrivalForecast:
    """Batches per hour by (tier, ISO weekday 1-7, hour) and the mean messages per batch of
    each tier, from recent history."""

    per_hour: dict[tuple[str, int, int], float] = field(default_factory=dict)
    mean_messages: dict[str, float] = field(default_factory=dict)


# Calibration is learnt per tier and per scale of the simulated working time (under 10 min,
# under an hour, longer): a short wait is relatively less certain than a long one.
CALIBRATION_SCALES = (600.0, 3600.0)


def calibration_scale(working_seconds: float) -> int:
    return sum(working_seconds >= limit for limit in CALIBRATION_SCALES)


@dataclass
class Calibration:
    """Per (tier, scale), recent ratios of the real to the simulated working wait
    (calibration_ratio), newest last."""

    ratios: dict[tuple[str, int], Sequence[float]] = field(default_factory=dict)

    def factor(self, tier: str, working_seconds: float) -> float:
        ratios = list(self.ratios.get((tier, calibration_scale(working_seconds)), ()))
        if len(ratios) < CALIBRATION_MIN_SAMPLES:  # too few at this scale: the whole tier's
            ratios = [r for (t, _), group in self.ratios.items() if t == tier for r in group]
        if len(ratios) < CALIBRATION_MIN_SAMPLES:
            return CALIBRATION_PRIOR
        ratios.sort()
        index = min(int(len(ratios) * QUOTE_QUANTILE), len(ratios) - 1)
        return max(ratios[index], 1.0)


@dataclass(frozen=True)
class Estimate:
    expected_at: datetime
    # The simulated wait while someone is on shift (None: nobody on the roster, the target
    # stands in), and the part of it with nobody on shift.
    simulated_seconds: float | None
    off_shift_seconds: float
    position: int
    queue_length: int
    explanation: str


@dataclass
class QuoteInputs:
    """Everything a quote reads, gathered once (live from the database, or replayed)."""

    now: datetime
    queue: list[Waiting]
    roster: Roster
    rates: HandlingRates
    arrivals: ArrivalForecast
    calibration: Calibration
    targets: dict[str, timedelta]
    default_target: timedelta = timedelta(hours=4)
    # When each reviewer last finished holding a batch: of several free at once, the one free
    # longest is the first to take the next batch.
    idle_since: dict[int, datetime] = field(default_factory=dict)
    # How long a free reviewer takes to claim the next batch (measured: median_pickup).
    pickup: timedelta = timedelta(0)

    def target(self, tier: str) -> timedelta:
        return self.targets.get(tier, self.default_target)


def estimate(inputs: QuoteInputs, batch: Waiting) -> Estimate:
    """The quote for `batch`, which may or may not already be in `inputs.queue`."""
    queue = sorted(
        [w for w in inputs.queue if w.batch_id != batch.batch_id] + [batch], key=Waiting.order
    )
    position = queue.index(batch) + 1
    finish = simulate(inputs, queue, batch)
    if finish is None:
        target = inputs.target(batch.tier)
        return Estimate(
            expected_at=inputs.now + target, simulated_seconds=None, off_shift_seconds=0.0,
            position=position,
            queue_length=len(queue),
            explanation=(
                f"No reviewer is on the roster in the next {QUOTE_HORIZON.days} days, so this "
                f"is the target for your tier ({human(target)})."
            ),
        )
    off_shift = off_shift_seconds(inputs.roster, inputs.now, finish)
    working = max((finish - inputs.now).total_seconds() - off_shift, 0.0)
    quoted = off_shift + working * inputs.calibration.factor(batch.tier, working)
    return Estimate(
        expected_at=inputs.now + timedelta(seconds=quoted), simulated_seconds=working,
        off_shift_seconds=off_shift, position=position, queue_length=len(queue),
        explanation=_explain(inputs, position=position, ahead=queue[: position - 1]),
    )


def off_shift_seconds(roster: Roster, start: datetime, end: datetime) -> float:
    """Seconds of [start, end) in which the roster has nobody on shift: waiting for a shift to
    begin is known in advance, so calibration does not stretch it."""
    total, at = 0.0, start
    while at < end:
        step_end = min(hour_start(at) + timedelta(hours=1), end)
        if not roster.on_shift(at):
            total += (step_end - at).total_seconds()
        at = step_end
    return total


def calibration_ratio(*, actual_seconds: float, working_seconds: float, off_shift: float) -> float:
    """How much longer than simulated the working part of a wait really was."""
    return max(actual_seconds - off_shift, 0.0) / working_seconds


def _explain(inputs: QuoteInputs, *, position: int, ahead: list[Waiting]) -> str:
    on_shift = len(inputs.roster.on_shift(inputs.now))
    messages = sum(w.messages for w in ahead)
    words = f"{position - 1} batch(es) ({messages} messages) are ahead of yours; "
    if on_shift:
        words += f"{on_shift} reviewer(s) are on shift now."
    else:
        words += "no reviewer is on shift now; the quote counts from the next shift."
    return words


def simulate(inputs: QuoteInputs, queue: list[Waiting], batch: Waiting) -> datetime | None:
    """When the reviewers, working the queue in order, would finish `batch` (None: nobody is
    on the roster within the horizon)."""
    now, roster, rates = inputs.now, inputs.roster, inputs.rates
    free_at: dict[int, datetime] = {r: now for r in roster.reviewer_ids()}
    # Without a batch of theirs today, a reviewer has been free since their shift began.
    free_since = {r: min(inputs.idle_since.get(r, LONG_AGO), now) for r in free_at}
    waiting: list[tuple[tuple, int, Waiting, datetime]] = []  # (order, seq, batch, arrives)
    for seq, item in enumerate(queue):
        if item.held_by is not None and item.batch_id != batch.batch_id:
            free_at[item.held_by] = max(free_at.get(item.held_by, now), now) + _held_remainder(
                item, holder=item.held_by, rates=rates, now=now
            )
            free_since[item.held_by] = free_at[item.held_by]
        else:
            heapq.heappush(waiting, (item.order(), seq, item, now))
    if batch.held_by is not None:
        return now + _held_remainder(
            batch, holder=batch.held_by, rates=rates, now=now
        )
    arrivals = _arrivals_ahead(inputs, batch)
    horizon_end = now + QUOTE_HORIZON
    while free_at:
        starts = {}
        for reviewer_id, free in free_at.items():
            start = roster.next_on_shift(reviewer_id, free, horizon=horizon_end - free)
            if start is not None:
                starts[reviewer_id] = start
        if not starts:
            return None
        reviewer_id = min(
            starts, key=lambda r: (starts[r], _free_since(roster, r, free_since[r], starts[r]), r)
        )
        start = starts[reviewer_id]
        while arrivals and arrivals[0][3] <= start:
            heapq.heappush(waiting, arrivals.pop(0))
        _, _, item, _ = heapq.heappop(waiting)
        done = start + inputs.pickup + handling(rates, reviewer_id, item.messages)
        if item.batch_id == batch.batch_id:
            return done
        free_at[reviewer_id] = free_since[reviewer_id] = done
    return None


def _free_since(roster: Roster, reviewer_id: int, last_free: datetime, at: datetime) -> datetime:
    """Since when a reviewer on shift at `at` has been free: since their last batch, or since
    their shift began if that was later (yesterday's last batch does not put them first)."""
    began = roster.shift_began(reviewer_id, at)
    return max(last_free, began) if began is not None else last_free


def median_pickup(gaps: Sequence[float]) -> timedelta:
    """The typical time from a reviewer being free (or a batch arriving to an idle reviewer)
    to their claim; none until there are CALIBRATION_MIN_SAMPLES gaps to go by."""
    if len(gaps) < CALIBRATION_MIN_SAMPLES:
        return timedelta(0)
    ordered = sorted(gaps)
    return timedelta(seconds=ordered[len(ordered) // 2])


def handling(rates: HandlingRates, reviewer_id: int, messages: int) -> timedelta:
    return timedelta(seconds=max(messages, 1) * rates.seconds_per_message(reviewer_id))


def _held_remainder(
    item: Waiting, *, holder: int, rates: HandlingRates, now: datetime
) -> timedelta:
    expected = handling(rates, holder, item.messages)
    spent = now - (item.held_since or now)
    return max(expected - spent, expected * HELD_REMAINDER_FLOOR)


def _arrivals_ahead(
    inputs: QuoteInputs, batch: Waiting
) -> list[tuple[tuple, int, Waiting, datetime]]:
    """The batches expected to arrive and be ordered ahead of `batch`, in arrival order: an
    arrival goes ahead when its deadline (arrival + its tier's target) is before this one's."""
    if batch.deadline is None:
        return []
    expected: list[tuple[tuple, int, Waiting, datetime]] = []
    seq = 0
    for tier, size in inputs.arrivals.mean_messages.items():
        latest = batch.deadline - inputs.target(tier)
        at, owed = inputs.now, 0.5  # rounding: an arrival once half a batch is owed
        while at < latest:
            hour_end = min(hour_start(at) + timedelta(hours=1), latest)
            span = (hour_end - at).total_seconds() / 3600
            iso = at.isoweekday()
            rate = inputs.arrivals.per_hour.get((tier, iso, at.hour), 0.0)
            owed += rate * span
            while owed >= 1:
                owed -= 1
                seq += 1
                arriving = at + timedelta(hours=span / 2)
                item = Waiting(
                    batch_id=-seq, tier=tier, deadline=arriving + inputs.target(tier),
                    entered_at=arriving, messages=max(round(size), 1),
                )
                expected.append((item.order(), -seq, item, arriving))
            at = hour_end
    expected.sort(key=lambda entry: entry[3])
    return expected


def human(delta: timedelta) -> str:
    minutes = round(delta.total_seconds() / 60)
    return f"{minutes} minutes" if minutes < 120 else f"{minutes / 60:.1f} hours"
