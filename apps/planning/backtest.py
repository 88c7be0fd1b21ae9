"""Replaying recorded history to see whether quotes come true (`manage.py quote_backtest`).

For each review round decided by a person, the quote the system would have given when the
batch entered review, worked out by the same code as a live quote (apps/planning/quotes.py)
from only what was known then: the rounds in review at that moment and who held them (claim
spans), rates and arrivals from the rounds decided or entered before it, and the calibration
learnt from the earlier quotes' outcomes. Two things come from today rather than from then:
the roster and the SLA targets (neither keeps a history). A round's size is the messages it
was decided with (exclusions during review make it smaller than it entered).

Error: |actual wait − quoted wait| ÷ quoted wait, in %.
"""

import heapq
from collections import defaultdict, deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from apps.planning.quotes import (
    CALIBRATION_SAMPLES,
    QUOTE_HORIZON,
    ArrivalForecast,
    Calibration,
    QuoteInputs,
    Waiting,
    calibration_ratio,
    calibration_scale,
    estimate,
    median_pickup,
)
from apps.planning.rates import RATE_WINDOW, HandlingRates
from apps.planning.roster import load_roster
from apps.planning.selectors import (
    ARRIVAL_WINDOW,
    DEFAULT_TARGET,
    PICKUP_LONGEST,
    PICKUP_WINDOW,
)
from apps.review.models import ClaimSpan, ReviewRound
from apps.review.selectors import sla_targets
from apps.review.stats import percentile


@dataclass
class Round:
    pk: int
    batch_id: int
    client_id: int
    tier: str
    entered_at: datetime
    decided_at: datetime | None
    decided_by: int | None
    handling_s: float
    messages: int
    spans: list[tuple[int, datetime, datetime | None]] = field(default_factory=list)

    def holder_at(self, at: datetime) -> tuple[int | None, datetime | None]:
        for reviewer_id, started, ended in self.spans:
            if started <= at and (ended is None or at < ended):
                return reviewer_id, started
        return None, None


@dataclass
class Outcome:
    round: Round
    quoted_s: float
    actual_s: float

    @property
    def kept(self) -> bool:
        return self.actual_s <= self.quoted_s

    @property
    def error_pct(self) -> float:
        return 100 * abs(self.actual_s - self.quoted_s) / max(self.quoted_s, 1.0)


def _load(since: datetime | None) -> list[Round]:
    rounds = ReviewRound.objects.all()
    if since is not None:
        rounds = rounds.filter(entered_at__gte=since - max(RATE_WINDOW, ARRIVAL_WINDOW))
    loaded = {
        pk: Round(pk, batch_id, client_id, tier, entered, decided, by, handling, messages)
        for pk, batch_id, client_id, tier, entered, decided, by, handling, messages in (
            rounds.order_by("entered_at", "pk").values_list(
                "pk", "batch_id", "batch__client_id", "batch__client__tier", "entered_at",
                "decided_at", "decided_by_id", "handling_seconds", "messages",
            ).iterator(chunk_size=5000)
        )
    }
    spans = ClaimSpan.objects.filter(round__in=rounds).order_by("started_at")
    for round_id, reviewer_id, started, ended in spans.values_list(
        "round_id", "reviewer_id", "started_at", "ended_at"
    ).iterator(chunk_size=5000):
        if round_id in loaded:
            loaded[round_id].spans.append((reviewer_id, started, ended))
    return sorted(loaded.values(), key=lambda r: (r.entered_at, r.pk))


class Replay:
    """The state a quote reads, moved forward in time one round's entry after another."""

    def __init__(self, rounds: list[Round]):
        targets = sla_targets()
        self.targets = {tier: target.target for tier, target in targets.items()}
        start = rounds[0].entered_at if rounds else datetime.now().astimezone()
        end = (rounds[-1].entered_at if rounds else start) + QUOTE_HORIZON
        self.roster = load_roster(start=start, end=end)
        self.rates = HandlingRates()
        # (decided at, round): decided rounds counted in the rates, oldest first
        self.rated: deque[tuple[datetime, Round]] = deque()
        self.sizes: dict[str, list[float]] = defaultdict(lambda: [0.0, 0])
        self.entered: deque[Round] = deque()
        self.per_hour: dict[tuple[str, int, int], int] = defaultdict(int)
        self.ratios: dict[tuple[str, int], deque[tuple[datetime, float]]] = defaultdict(deque)
        self.active: dict[int, Round] = {}
        # Every claim span's end, by time, to know who let go of a batch last.
        self.span_ends = sorted(
            (ended, reviewer_id) for r in rounds for reviewer_id, _, ended in r.spans
            if ended is not None
        )
        self.span_cursor = 0
        self.idle_since: dict[int, datetime] = {}
        # Each claim's pick-up gap, known from the moment of the claim (as pickup_gaps reads it).
        self.claims = sorted(_pickup_gaps(rounds))
        self.claim_cursor = 0
        self.gaps: deque[tuple[datetime, float]] = deque()
        self.deciding: list[tuple[datetime, int, Round]] = []  # heap by decision time
        self.pending_ratios: list[tuple[datetime, int, tuple[str, int], float]] = []

    def advance(self, now: datetime) -> None:
        while self.claim_cursor < len(self.claims) and self.claims[self.claim_cursor][0] <= now:
            self.gaps.append(self.claims[self.claim_cursor])
            self.claim_cursor += 1
        while self.gaps and self.gaps[0][0] < now - PICKUP_WINDOW:
            self.gaps.popleft()
        while (self.span_cursor < len(self.span_ends)
               and self.span_ends[self.span_cursor][0] <= now):
            ended, reviewer_id = self.span_ends[self.span_cursor]
            self.idle_since[reviewer_id] = ended
            self.span_cursor += 1
        while self.deciding and self.deciding[0][0] <= now:
            decided_at, _, done = heapq.heappop(self.deciding)
            self.active.pop(done.pk, None)
            self._learn(done, decided_at)
        while self.pending_ratios and self.pending_ratios[0][0] <= now:
            decided_at, _, key, ratio = heapq.heappop(self.pending_ratios)
            self.ratios[key].append((decided_at, ratio))
            if len(self.ratios[key]) > CALIBRATION_SAMPLES:
                self.ratios[key].popleft()
        while self.rated and self.rated[0][0] < now - RATE_WINDOW:
            self._forget(self.rated.popleft()[1])
        while self.entered and self.entered[0].entered_at < now - ARRIVAL_WINDOW:
            gone = self.entered.popleft()
            self.per_hour[_hour_key(gone)] -= 1
        for ratios in self.ratios.values():
            while ratios and ratios[0][0] < now - ARRIVAL_WINDOW:
                ratios.popleft()

    def _learn(self, done: Round, decided_at: datetime) -> None:
        if done.decided_by is not None and done.handling_s > 0:
            self.rates.add(reviewer_id=done.decided_by, handling_s=done.handling_s,
                           messages=done.messages)
        size = self.sizes[done.tier]
        size[0] += done.messages
        size[1] += 1
        self.rated.append((decided_at, done))

    def _forget(self, old: Round) -> None:
        if old.decided_by is not None and old.handling_s > 0:
            self.rates.remove(reviewer_id=old.decided_by, handling_s=old.handling_s,
                              messages=old.messages)
        size = self.sizes[old.tier]
        size[0] -= old.messages
        size[1] -= 1

    def inputs(self, now: datetime) -> QuoteInputs:
        weeks = ARRIVAL_WINDOW / timedelta(weeks=1)
        arrivals = ArrivalForecast(
            per_hour={key: n / weeks for key, n in self.per_hour.items() if n > 0},
            mean_messages={tier: s / n for tier, (s, n) in self.sizes.items() if n > 0},
        )
        return QuoteInputs(
            now=now,
            queue=[self._waiting(r, now) for r in self.active.values()],
            roster=self.roster,
            rates=self.rates,
            arrivals=arrivals,
            calibration=Calibration(
                ratios={key: [r for _, r in ratios] for key, ratios in self.ratios.items()}
            ),
            targets=self.targets,
            default_target=DEFAULT_TARGET,
            idle_since={
                r: at for r, at in self.idle_since.items() if at >= now - timedelta(days=1)
            },
            pickup=median_pickup([gap for _, gap in self.gaps]),
        )

    def _waiting(self, round_: Round, now: datetime) -> Waiting:
        held_by, held_since = round_.holder_at(now)
        target = self.targets.get(round_.tier)
        return Waiting(
            batch_id=round_.batch_id, tier=round_.tier,
            deadline=round_.entered_at + target if target else None,
            entered_at=round_.entered_at, messages=round_.messages, held_by=held_by,
            held_since=held_since,
        )

    def enter(self, round_: Round) -> Waiting:
        """The round joins the queue; returns it as the quote sees it (not yet held)."""
        waiting = self._waiting(round_, round_.entered_at)
        waiting = Waiting(waiting.batch_id, waiting.tier, waiting.deadline, waiting.entered_at,
                          waiting.messages)
        self.entered.append(round_)
        self.per_hour[_hour_key(round_)] += 1
        self.active[round_.pk] = round_
        if round_.decided_at is not None:
            heapq.heappush(self.deciding, (round_.decided_at, round_.pk, round_))
        return waiting


def _pickup_gaps(rounds: list[Round]) -> list[tuple[datetime, float]]:
    """(claimed at, seconds) for every claim: as apps.planning.selectors.pickup_gaps."""
    spans = sorted(
        (reviewer_id, started, ended, r.entered_at)
        for r in rounds for reviewer_id, started, ended in r.spans
    )
    gaps: list[tuple[datetime, float]] = []
    previous: dict[int, datetime | None] = {}
    for reviewer_id, started, ended, entered in spans:
        free = max(filter(None, (previous.get(reviewer_id), entered)))
        gap = (started - free).total_seconds()
        if 0 <= gap <= PICKUP_LONGEST.total_seconds():
            gaps.append((started, gap))
        previous[reviewer_id] = ended
    return gaps


def _hour_key(round_: Round) -> tuple[str, int, int]:
    return (round_.tier, round_.entered_at.isoweekday(), round_.entered_at.hour)


def backtest(*, since: datetime | None = None, client_id: int | None = None) -> dict:
    rounds = _load(since)
    replay = Replay(rounds)
    outcomes: list[Outcome] = []
    for round_ in rounds:
        now = round_.entered_at
        replay.advance(now)
        inputs = replay.inputs(now)
        waiting = replay.enter(round_)
        quote = estimate(inputs, waiting)
        if round_.decided_at is None:
            continue
        actual_s = (round_.decided_at - now).total_seconds()
        if quote.simulated_seconds:
            ratio = calibration_ratio(actual_seconds=actual_s,
                                      working_seconds=quote.simulated_seconds,
                                      off_shift=quote.off_shift_seconds)
            key = (round_.tier, calibration_scale(quote.simulated_seconds))
            heapq.heappush(replay.pending_ratios, (round_.decided_at, round_.pk, key, ratio))
        reported = (since is None or now >= since) and round_.decided_by is not None
        if reported and (client_id is None or round_.client_id == client_id):
            outcomes.append(Outcome(round_, (quote.expected_at - now).total_seconds(), actual_s))
    return summarize(outcomes, since=since, client_id=client_id)


def summarize(outcomes: list[Outcome], *, since: datetime | None, client_id: int | None) -> dict:
    figures = _figures(outcomes)
    by_tier: dict[str, list[Outcome]] = defaultdict(list)
    for outcome in outcomes:
        by_tier[outcome.round.tier].append(outcome)
    return {
        "since": since.isoformat() if since else None,
        "client_id": client_id,
        **figures,
        "by_tier": {tier: _figures(group) for tier, group in sorted(by_tier.items())},
    }


def _figures(outcomes: list[Outcome]) -> dict:
    errors = [o.error_pct for o in outcomes]
    return {
        "batches": len(outcomes),
        "decided_by_quote_pct": _round(100 * sum(o.kept for o in outcomes) / len(outcomes))
        if outcomes else None,
        "median_abs_error_pct": _round(percentile(errors, 50)),
        "p90_abs_error_pct": _round(percentile(errors, 90)),
        "median_quoted_minutes": _round(percentile([o.quoted_s / 60 for o in outcomes], 50)),
        "median_actual_minutes": _round(percentile([o.actual_s / 60 for o in outcomes], 50)),
    }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)
